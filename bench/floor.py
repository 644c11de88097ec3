"""The floor: the same HTTP calls as a fused run, made with a bare `asyncio.gather`.

No graph, no checkpoints, no prompt building, no page extraction: the panelists'
calls (and, with tools, their search and page requests) in parallel through one
pooled httpx client, then the judge's one streamed call (analysis, then answer). What a
fused run takes above this is Fusion's overhead; what this takes above the critical
path is the scripted servers' and the HTTP stack's.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from bench.harness import PROMPT, Latencies, Servers

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("web_search", "web_fetch")
]
VERDICT_TOOL = {
    "type": "function",
    "function": {"name": "JudgeVerdict", "parameters": {"properties": {"answer": {}}}},
}


class Floor:
    """Bare runs against `servers`, sharing one connection pool (as Fusion does)."""

    def __init__(self, servers: Servers, latencies: Latencies) -> None:
        self.llm = servers.llm_base_url
        self.web = servers.web_origin
        self.latencies = latencies
        self.client = httpx.AsyncClient(
            timeout=60, limits=httpx.Limits(max_connections=500, max_keepalive_connections=100)
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self.client.post(f"{self.llm}/chat/completions", json=body)
        reply.raise_for_status()
        message: dict[str, Any] = reply.json()["choices"][0]["message"]
        return message

    async def _panelist(self, model: str, tools: bool) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You are a panelist."},
            {"role": "user", "content": PROMPT},
        ]
        if not tools:
            return str((await self._chat({"model": model, "messages": messages}))["content"])
        for _ in range(2):
            message = await self._chat({"model": model, "messages": messages, "tools": TOOLS})
            call = message["tool_calls"][0]
            args = json.loads(call["function"]["arguments"])
            if call["function"]["name"] == "web_search":
                found = await self.client.post(
                    f"{self.web}/search",
                    json={"query": args["query"], "max_results": 5},
                    headers={"Authorization": "Bearer tvly-bench"},
                )
                result = json.dumps(found.json()["results"])
            else:
                result = (await self.client.get(args["url"])).text
            messages += [message, {"role": "tool", "tool_call_id": call["id"], "content": result}]
        final = await self._chat({"model": model, "messages": messages, "tools": TOOLS})
        return str(final["content"])

    async def run(self, tools: bool = False) -> float:
        """One bare run; its wall time in seconds."""
        started = time.perf_counter()
        models = self.latencies.panel_models(tools)
        drafts = await asyncio.gather(*(self._panelist(m, tools) for m in models))
        shown = "\n".join(
            f'<response id="{chr(65 + i)}">\n{d}\n</response>' for i, d in enumerate(drafts)
        )
        messages = [
            {"role": "system", "content": "You are the judge."},
            {"role": "user", "content": f"{PROMPT}\n\n{shown}"},
        ]
        judge = self.latencies.judge_model()
        body = {
            "model": judge,
            "messages": messages,
            "stream": True,
            "tools": [VERDICT_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "JudgeVerdict"}},
        }
        async with self.client.stream("POST", f"{self.llm}/chat/completions", json=body) as r:
            verdict = [line async for line in r.aiter_lines() if line.startswith("data: {")]
        assert verdict, "the judge streamed nothing"
        return time.perf_counter() - started

"""A stateless peer: the least a fan-out + judge server can do, to measure Fusion against.

`python -m bench.peer --port P` serves `POST /v1/chat/completions`: it sends the user's
question to every panel model at once through one pooled httpx client, then one judge
call with the drafts, and answers. No graph, no checkpoints, no tools, no retries,
nothing kept after the answer: what a minimal open-source peer (openfusion and the
like) does. Panel and judge come from the request's `fusion` object, as with
`fusion serve`, so one OpenAI client drives both servers the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

JUDGE_PROMPT = (
    "You judge a panel's answers. Identify consensus, contradictions, partial coverage, "
    "unique insights and blind spots, then write one resolved answer."
)


def create_app(base_url: str, api_key: str) -> Starlette:
    client = httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=120,
        limits=httpx.Limits(max_connections=500, max_keepalive_connections=100),
    )

    async def chat(model: str, messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        reply = await client.post("/chat/completions", json={"model": model, "messages": messages})
        reply.raise_for_status()
        body = reply.json()
        return str(body["choices"][0]["message"]["content"] or ""), body.get("usage") or {}

    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        options = body.get("fusion") or {}
        question = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        asked = [{"role": "user", "content": question}]
        drafts = await asyncio.gather(*(chat(model, asked) for model in options["panel"]))
        shown = "\n\n".join(
            f'<response id="{chr(65 + i)}">\n{text}\n</response>'
            for i, (text, _) in enumerate(drafts)
        )
        answer, judge_usage = await chat(
            options["judge"],
            [
                {"role": "system", "content": JUDGE_PROMPT},
                {"role": "user", "content": f"Question: {question}\n\n{shown}"},
            ],
        )
        usages = [u for _, u in drafts] + [judge_usage]
        prompt = sum(int(u.get("prompt_tokens", 0)) for u in usages)
        completion = sum(int(u.get("completion_tokens", 0)) for u in usages)
        return JSONResponse(
            {
                "id": f"chatcmpl-peer-{time.monotonic_ns()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "peer"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "peer", "object": "model"}]})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(os.environ["FUSION_BASE_URL"], os.environ.get("FUSION_API_KEY", "x"))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
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


Chat = Callable[[str, list[dict[str, Any]]], Awaitable[tuple[str, dict[str, Any]]]]
"""One model call: (model, messages) -> (reply text, usage)."""
Answer = Callable[[str, list[str], str], Awaitable[tuple[str, list[dict[str, Any]]]]]
"""One answer: (question, panel, judge) -> (answer, every call's usage)."""
Setup = Callable[[Chat], AbstractAsyncContextManager[Answer]]
"""What answers, made from the server's `Chat` for the server's lifetime."""


def judge_messages(question: str, drafts: list[str]) -> list[dict[str, Any]]:
    shown = "\n\n".join(
        f'<response id="{chr(65 + i)}">\n{text}\n</response>' for i, text in enumerate(drafts)
    )
    return [
        {"role": "system", "content": JUDGE_PROMPT},
        {"role": "user", "content": f"Question: {question}\n\n{shown}"},
    ]


@contextlib.asynccontextmanager
async def stateless(chat: Chat) -> AsyncIterator[Answer]:
    """The whole peer: the panel at once, then the judge; nothing kept."""

    async def answer(question: str, panel: list[str], judge: str) -> tuple[str, list[Any]]:
        asked = [{"role": "user", "content": question}]
        drafts = await asyncio.gather(*(chat(model, asked) for model in panel))
        text, judge_usage = await chat(judge, judge_messages(question, [d for d, _ in drafts]))
        return text, [u for _, u in drafts] + [judge_usage]

    yield answer


def create_app(base_url: str, api_key: str, setup: Setup = stateless) -> Starlette:
    client = httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=120,
        limits=httpx.Limits(max_connections=500, max_keepalive_connections=100),
    )
    answerer: list[Answer] = []

    async def chat(model: str, messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        reply = await client.post("/chat/completions", json={"model": model, "messages": messages})
        reply.raise_for_status()
        body = reply.json()
        return str(body["choices"][0]["message"]["content"] or ""), body.get("usage") or {}

    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        options = body.get("fusion") or {}
        question = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        answer, usages = await answerer[0](question, options["panel"], options["judge"])
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
        async with setup(chat) as answer:
            answerer.append(answer)
            yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models),
        ],
        lifespan=lifespan,
    )


def serve(setup: Setup, port: int) -> None:
    """Serve `setup`'s answers on 127.0.0.1:`port`, models from `FUSION_BASE_URL`."""
    app = create_app(os.environ["FUSION_BASE_URL"], os.environ.get("FUSION_API_KEY", "x"), setup)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def port_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--port", type=int, required=True)
    return parser


if __name__ == "__main__":
    serve(stateless, port_parser("python -m bench.peer").parse_args().port)

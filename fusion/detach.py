"""Run a stream of events in an asyncio task of its own, cancelled exactly once.

Servers built on anyio (sse-starlette, the MCP SDK) cancel a request through a
cancel scope, which cancels again at every await until the scope exits. LangGraph
unwinds a cancelled run in several awaits (cancel the panelists' tasks, then wait for
them), so run inside that scope its clean-up is cut short and the panelists' model
calls keep running, paid for and read by no one. A plain task gets one cancellation,
and the clean-up, shielded, finishes; the checkpoint keeps every draft already paid for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import anyio

CLEANUP_S = 30.0
T = TypeVar("T")

__all__ = ["CLEANUP_S", "detached"]


async def detached(events: AsyncIterator[T]) -> AsyncIterator[T]:
    """`events`, iterated in an asyncio task of its own, cancelled once when we stop."""
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for item in events:
                queue.put_nowait(("item", item))
        except Exception as exc:
            queue.put_nowait(("error", exc))
        else:
            queue.put_nowait(("end", None))

    task = asyncio.ensure_future(pump())
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        if not task.done():
            task.cancel()
            with anyio.move_on_after(CLEANUP_S, shield=True):
                await asyncio.wait({task})

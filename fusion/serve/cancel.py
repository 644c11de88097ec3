"""A client that leaves cancels its run: the outstanding model calls stop.

Both helpers make sure LangGraph sees exactly one asyncio cancellation, which it
unwinds fully (cancelling each panelist's task, saving what finished); the run's
checkpoint keeps every draft already paid for, so `fusion resume` can finish it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import anyio
from fastapi import Request

CLEANUP_S = 30.0
T = TypeVar("T")


async def until_disconnect(request: Request, work: Coroutine[Any, Any, T]) -> T | None:
    """`work`'s result, or None (with `work` cancelled) if the client leaves first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with anyio.move_on_after(CLEANUP_S, shield=True):
                await asyncio.wait({task})
    return task.result() if not task.cancelled() else None


async def _disconnected(request: Request) -> None:
    """Returns when the ASGI server reports `http.disconnect` (the body is already read)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def detached(events: AsyncIterator[T]) -> AsyncIterator[T]:
    """`events`, iterated in an asyncio task of its own, cancelled once when we stop.

    sse-starlette cancels a stream through an anyio cancel scope, which cancels again
    at every await until the scope exits. LangGraph unwinds a cancelled run in several
    awaits (cancel the panelists' tasks, then wait for them), so run in that scope its
    clean-up is cut short and the panelists' model calls keep running, paid for and
    read by no one. A plain task gets one cancellation, and the clean-up, shielded, finishes.
    """
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

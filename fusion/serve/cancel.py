"""A client that leaves cancels its run: the outstanding model calls stop.

Both helpers make sure LangGraph sees exactly one asyncio cancellation, which it
unwinds fully (cancelling each panelist's task, saving what finished); the run's
checkpoint keeps every draft already paid for, so `fusion resume` can finish it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import anyio
from fastapi import Request

from fusion.detach import CLEANUP_S, detached

T = TypeVar("T")

__all__ = ["detached", "until_disconnect"]


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

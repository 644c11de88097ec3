"""Per-endpoint locks that are safe across event loops.

A module-level `asyncio.Lock` binds to the first loop that waits on it, so the next
`asyncio.run()` (a second `fuse()` call, a test, a worker's new loop) that contends
for it fails with "is bound to a different event loop". Locks here are kept per
running loop and die with it.
"""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["LoopLocks"]


class LoopLocks:
    """One `asyncio.Lock` per key and running event loop."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def get(self, key: str) -> asyncio.Lock:
        locks = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(key, asyncio.Lock())

"""One checkpointer (SQLite or PostgreSQL) for a server's lifetime (`fusion serve` and
its web page).

Every served run is checkpointed like `fusion ask` (so `fusion resume`, `show` and
`runs` work on it), through the same shared saver (`fusion.runs.open_checkpointer`),
held open from the first request until the app closes. Opened lazily because an app
mounted into another server may not see its own lifespan start before a request.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from fusion.runs import db_path, open_checkpointer
from fusion.saver import Saver


class Checkpoints:
    def __init__(self, db: str | None = None) -> None:
        self._db = db
        self._stack = AsyncExitStack()
        self._saver: Saver | None = None
        self._lock = asyncio.Lock()

    async def saver(self) -> Saver:
        if self._saver is None:
            async with self._lock:
                if self._saver is None:
                    # The path is read now, so FUSION_DB may be set after import.
                    opened = open_checkpointer(db_path(self._db))
                    self._saver = await self._stack.enter_async_context(opened)
        return self._saver

    async def close(self) -> None:
        self._saver = None
        await self._stack.aclose()
        self._stack = AsyncExitStack()

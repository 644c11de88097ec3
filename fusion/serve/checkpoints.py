"""One SQLite checkpointer for the server's lifetime.

Every served run is checkpointed like `fusion ask` (so `fusion resume`, `show` and
`runs` work on it); one connection, opened on first use and closed with the app,
saves a connect per request. Opened lazily because an app mounted into another
server may not see its own lifespan start before a request; the folder is made in a
thread, since a handler must never block the event loop (LangGraph server's dev
mode refuses such calls).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from fusion.runs import db_path


class Checkpoints:
    def __init__(self, db: str | None = None) -> None:
        self._db = db
        self._stack = AsyncExitStack()
        self._saver: AsyncSqliteSaver | None = None
        self._lock = asyncio.Lock()

    async def saver(self) -> AsyncSqliteSaver:
        if self._saver is None:
            async with self._lock:
                if self._saver is None:
                    # The path is read now, so FUSION_DB may be set after import.
                    path = db_path(self._db)
                    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
                    opened = AsyncSqliteSaver.from_conn_string(str(path))
                    self._saver = await self._stack.enter_async_context(opened)
        return self._saver

    async def close(self) -> None:
        self._saver = None
        await self._stack.aclose()
        self._stack = AsyncExitStack()

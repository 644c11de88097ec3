"""A PostgreSQL connection pool that never swallows its caller's cancel.

On Python 3.11, psycopg_pool waits for a connection inside `asyncio.wait_for`, which
drops a cancel that lands as the connection is handed over (psycopg#1345; psycopg_pool
3.3.3 still does). The caller got its connection and went on as if nobody had asked
it to stop: a run whose client hung up, or whose user pressed Stop, took its next
step and paid for its next model calls.

`Task.cancel()` counts every request in `Task.cancelling()`, delivered or not, so a
count that grew while `getconn()` waited is a cancel asked for and never delivered:
the connection goes back and the cancel is raised, as it would have been had the race
not happened. Imported only with the postgres extra (`fusion.saver`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool


class CancelSafePool(AsyncConnectionPool[Any]):
    """`AsyncConnectionPool` whose `getconn()` (and so `connection()`) raises a cancel
    asked for while it waited, whatever the pool's own wait did with it."""

    async def getconn(self, timeout: float | None = None) -> Any:  # noqa: ASYNC109 (the pool's API)
        task = asyncio.current_task()
        asked_before = task.cancelling() if task is not None else 0
        conn = await super().getconn(timeout)
        if task is not None and task.cancelling() > asked_before:
            await self.putconn(conn)
            raise asyncio.CancelledError
        return conn

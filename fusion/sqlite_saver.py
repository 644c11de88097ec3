"""The SQLite checkpointer: LangGraph's `SqliteSaver`, its small calls made at once.

LangGraph's `AsyncSqliteSaver` goes through aiosqlite, which crosses to its database
thread and back for every statement: a checkpoint is an execute, a commit and a
cursor close (three crossings), a task's writes four, and each `setup()` check takes
an asyncio lock first. A three-panelist run writes 34 times, so it made 140 crossings
and they were the largest part of the run's CPU after the model calls.

`SqliteCheckpointer` is the sync saver (same tables, same SQL, same serializer, so
every reader sees the same checkpoints). Even one crossing per call costs more than
the call: waking the database thread and then the event loop takes about 150-200 us
of CPU, a checkpoint's insert and commit about 70 us, and a three-panelist answer
makes 40 such calls. So the small calls (a checkpoint, a task's writes, one
checkpoint read, a lease row) run on the event loop, on a second connection that
never waits: its busy timeout is 0, and it never checkpoints the write-ahead log
(the fsyncs). When another writer holds the database (another process, or this
saver's own thread), SQLite answers "busy" at once and the call goes to the thread,
whose connection waits its turn as before. The log is checkpointed on the thread
every `WAL_CHECKPOINT_EVERY` writes, and listing, deleting and history stay there too:
their size has no bound. Either way a write has committed before its `await`
returns, so what `fusion resume` relies on is unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver

T = TypeVar("T")
log = logging.getLogger("fusion.sqlite_saver")
WAL_CHECKPOINT_EVERY = 200
"""Writes between two checkpoints of the write-ahead log (SQLite's own default is
every 1,000 pages, about 300 of these writes)."""
_WAITING = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class SqliteCheckpointer(SqliteSaver):
    """A SQLite checkpointer for async graphs; open it with `await open_sqlite(path)`
    and `await aclose()` it. Its sync methods (and `conn`) are the thread's."""

    def __init__(
        self, conn: sqlite3.Connection, thread: ThreadPoolExecutor, at_once: SqliteSaver
    ) -> None:
        super().__init__(conn)
        self._thread = thread
        self._at_once = at_once
        self._writes_since_wal_checkpoint = 0

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(self, ...)` on the database thread."""
        call = functools.partial(fn, self, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def _small(self, fn: Callable[..., T], *args: Any, write: bool, **kwargs: Any) -> T:
        """`fn(saver, ...)` at once on the no-wait connection, or on the thread if
        SQLite is busy. `fn` must be one transaction: on "busy" nothing is written."""
        try:
            result = fn(self._at_once, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if self._at_once.conn.in_transaction:
                self._at_once.conn.rollback()  # never leave a stale snapshot open
            if exc.sqlite_errorcode & 0xFF not in _WAITING:
                raise
            return await self._run(fn, *args, **kwargs)
        if write:
            self._writes_since_wal_checkpoint += 1
            if self._writes_since_wal_checkpoint >= WAL_CHECKPOINT_EVERY:
                self._writes_since_wal_checkpoint = 0
                self._thread.submit(self._checkpoint_wal)
        return result

    def _checkpoint_wal(self) -> None:
        """Copy the log into the database as far as no reader needs it (PASSIVE
        blocks no writer); SQLite restarts the log from its start after that."""
        try:
            with self.lock:
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            log.warning("could not checkpoint the write-ahead log", exc_info=True)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._small(SqliteSaver.get_tuple, config, write=False)

    async def aexecute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement of Fusion's own SQL (the run leases), committed; its rows."""
        write = not sql.lstrip().upper().startswith("SELECT")
        return await self._small(_execute, sql, params, write=write)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Read whole in one crossing: the sync generator holds the saver's lock
        # between items, so pausing it would stall every write behind it.
        found = await self._run(
            lambda saver: list(saver.list(config, filter=filter, before=before, limit=limit))
        )
        for checkpoint in found:
            yield checkpoint

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._small(
            SqliteSaver.put, config, checkpoint, metadata, new_versions, write=True
        )

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._small(SqliteSaver.put_writes, config, writes, task_id, task_path, write=True)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(SqliteSaver.delete_thread, thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._run(
            SqliteSaver.get_delta_channel_history, config=config, channels=channels
        )

    async def aclose(self) -> None:
        def close(saver: SqliteSaver) -> None:
            self._at_once.conn.close()
            saver.conn.close()

        await self._run(close)
        self._thread.shutdown(wait=False)


def _execute(saver: SqliteSaver, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    with saver.lock:
        rows = [tuple(row) for row in saver.conn.execute(sql, params).fetchall()]
        saver.conn.commit()
    return rows


async def open_sqlite(path: Path) -> SqliteCheckpointer:
    """A checkpointer on the SQLite file `path` (made if missing), its tables set up.

    Commits use `synchronous=NORMAL` on the write-ahead log: a crash or `kill -9` of
    the process loses nothing committed; only an operating-system crash or power cut
    can lose the last commits."""
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fusion-sqlite")

    def connect() -> SqliteCheckpointer:
        # each saver's own lock serialises use of its connection across threads
        conn = sqlite3.connect(str(path), check_same_thread=False)
        at_once_conn = sqlite3.connect(str(path), timeout=0, check_same_thread=False)
        try:
            at_once = SqliteSaver(at_once_conn)
            saver = SqliteCheckpointer(conn, thread, at_once)
            saver.setup()  # WAL, tables, migrations
            at_once.is_setup = True
            at_once.serde = saver.serde
            conn.execute("PRAGMA synchronous=NORMAL")
            at_once_conn.execute("PRAGMA synchronous=NORMAL")
            at_once_conn.execute("PRAGMA wal_autocheckpoint=0")  # the thread does it
        except BaseException:
            at_once_conn.close()
            conn.close()
            raise
        return saver

    try:
        return await asyncio.get_running_loop().run_in_executor(thread, connect)
    except BaseException:
        thread.shutdown(wait=False)
        raise

"""The SQLite checkpointer: LangGraph's `SqliteSaver`, each call one hop to its thread.

LangGraph's `AsyncSqliteSaver` goes through aiosqlite, which crosses to its database
thread and back for every statement: a checkpoint is an execute, a commit and a
cursor close (three crossings), a task's writes four, and each `setup()` check takes
an asyncio lock first. A three-panelist run writes 34 times, so it made 140 crossings
and they were the largest part of the run's CPU after the model calls.

`SqliteCheckpointer` is the sync saver (same tables, same SQL, same serializer, so
every reader sees the same checkpoints) whose async methods run the whole sync call
on one database thread: one crossing per checkpoint, per task's writes, per read.
A write has committed before its `await` returns, as before, so what `fusion resume`
relies on is unchanged. The event loop never touches the file.
"""

from __future__ import annotations

import asyncio
import functools
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


class SqliteCheckpointer(SqliteSaver):
    """A SQLite checkpointer for async graphs; open it with `await open_sqlite(path)`
    and `await aclose()` it. Calls from any loop are serialised on its one thread."""

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        super().__init__(conn)
        self._thread = thread

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(self.get_tuple, config)

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
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
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
        return await self._run(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._run(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(self.delete_thread, thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._run(self.get_delta_channel_history, config=config, channels=channels)

    async def aclose(self) -> None:
        await self._run(self.conn.close)
        self._thread.shutdown(wait=False)


async def open_sqlite(path: Path) -> SqliteCheckpointer:
    """A checkpointer on the SQLite file `path` (made if missing), its tables set up.

    Commits use `synchronous=NORMAL` on the write-ahead log: a crash or `kill -9` of
    the process loses nothing committed; only an operating-system crash or power cut
    can lose the last commits."""
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fusion-sqlite")

    def connect() -> SqliteCheckpointer:
        # the saver's own lock serialises use of the connection across threads
        conn = sqlite3.connect(str(path), check_same_thread=False)
        try:
            saver = SqliteCheckpointer(conn, thread)
            saver.setup()  # WAL, tables, migrations
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return saver

    try:
        return await asyncio.get_running_loop().run_in_executor(thread, connect)
    except BaseException:
        thread.shutdown(wait=False)
        raise

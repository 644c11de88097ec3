"""The SQLite checkpointer makes its small calls at once on the event loop, never waits
there for a database another writer holds, and checkpoints its write-ahead log on its
own thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig

from fusion import sqlite_saver
from fusion.sqlite_saver import SqliteCheckpointer, open_sqlite
from tests.fixtures.checkpoints import put_checkpoint


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[SqliteCheckpointer]:
    opened = await open_sqlite(tmp_path / "runs.sqlite")
    yield opened
    await opened.aclose()


def traced(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """(thread, statement) of each statement `conn` runs from now on."""
    seen: list[tuple[int, str]] = []
    conn.set_trace_callback(lambda sql: seen.append((threading.get_ident(), sql)))
    return seen


async def put_one(saver: SqliteCheckpointer, thread_id: str) -> RunnableConfig:
    stored = await put_checkpoint(saver, thread_id)
    await saver.aput_writes(stored, [("answer", f"answer of {thread_id}")], "task-1")
    return stored


async def test_checkpoints_and_writes_go_at_once_on_the_loop(saver: SqliteCheckpointer) -> None:
    at_once = traced(saver._at_once.conn)
    on_thread = traced(saver.conn)

    stored = await put_one(saver, "t1")
    found = await saver.aget_tuple(stored)

    loop_thread = threading.get_ident()
    assert found is not None and found.checkpoint["channel_values"]["question"] == "question of t1"
    assert found.pending_writes == [("task-1", "answer", "answer of t1")]
    written = [sql for thread, sql in at_once if sql.startswith("INSERT")]
    assert len(written) == 2  # the checkpoint, then the task's write
    assert {thread for thread, _ in at_once} == {loop_thread}
    assert on_thread == []


async def test_a_held_database_makes_the_write_wait_on_the_thread_not_the_loop(
    saver: SqliteCheckpointer, tmp_path: Path
) -> None:
    # the loop's connection gives up at once rather than wait for a lock
    assert saver._at_once.conn.execute("PRAGMA busy_timeout").fetchone() == (0,)
    other = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer (another process, say) holds it
    on_thread = traced(saver.conn)
    write = asyncio.create_task(put_one(saver, "t2"))
    for _ in range(20):  # this task goes on running while the write waits
        await asyncio.sleep(0.01)
    assert not write.done()
    other.execute("COMMIT")
    stored = await asyncio.wait_for(write, timeout=30)
    other.close()

    found = await saver.aget_tuple(stored)
    assert found is not None and found.pending_writes == [("task-1", "answer", "answer of t2")]
    assert any(sql.startswith("INSERT") for _, sql in on_thread)  # it went to the thread
    assert not saver._at_once.conn.in_transaction  # no stale snapshot left behind


async def test_the_write_ahead_log_is_checkpointed_on_the_thread(
    saver: SqliteCheckpointer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_saver, "WAL_CHECKPOINT_EVERY", 10)
    on_thread = traced(saver.conn)
    database = tmp_path / "runs.sqlite"
    size_before = database.stat().st_size

    for i in range(10):  # 20 writes: two checkpoints of the log
        await put_one(saver, f"t{i}")
    await saver._run(lambda _: None)  # the thread has done what was queued before

    checkpoints = [sql for _, sql in on_thread if "wal_checkpoint" in sql]
    assert len(checkpoints) == 2
    assert database.stat().st_size > size_before  # pages moved from the log into the file
    assert await saver.aget_tuple({"configurable": {"thread_id": "t9", "checkpoint_ns": ""}})


async def test_lease_rows_use_the_same_path(saver: SqliteCheckpointer) -> None:
    at_once = traced(saver._at_once.conn)
    await saver.aexecute("CREATE TABLE IF NOT EXISTS leases_probe (id TEXT PRIMARY KEY)")
    await saver.aexecute("INSERT INTO leases_probe VALUES (?)", ("a",))
    rows = await saver.aexecute("SELECT id FROM leases_probe")
    assert rows == [("a",)]
    assert sum(sql.startswith(("CREATE", "INSERT", "SELECT")) for _, sql in at_once) == 3

"""On PostgreSQL, one process's runs checkpoint side by side, each call on its own
pooled connection: a write that waits in the database stalls only its own run, and
the leases keep connections of their own."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from fusion.lease import holder_of, take_lease
from fusion.runs import open_checkpointer
from fusion.saver import LEASE_CONNECTIONS, POOL_MAX_ENV
from tests.fixtures.checkpoints import put_checkpoint as put

# A bound for a hang, so that a regression fails instead of stalling the suite; what
# the test checks is which call finished first, never how fast.
HANG_S = 60.0
POLL_S = 0.02


async def until_a_session_waits_on_a_lock(
    monitor: psycopg.AsyncConnection[tuple[object, ...]], sessions: int = 1
) -> None:
    for _ in range(int(HANG_S / POLL_S)):
        cursor = await monitor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = await cursor.fetchone()
        if row is not None and int(str(row[0])) >= sessions:
            return
        await asyncio.sleep(POLL_S)
    pytest.fail(f"fewer than {sessions} writes waited on their held rows")


async def test_a_write_held_in_the_database_does_not_stall_other_runs(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POOL_MAX_ENV, "4")
    async with (
        open_checkpointer(postgres_url) as saver,
        await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as holder,
        await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as monitor,
    ):
        stored = await put(saver, "run-a")
        checkpoint_id = stored["configurable"]["checkpoint_id"]
        async with holder.transaction():
            # another session (a slow replica, a vacuum, an operator) holds run A's row
            await holder.execute("SELECT 1 FROM checkpoints WHERE thread_id = 'run-a' FOR UPDATE")
            held = asyncio.create_task(put(saver, "run-a", checkpoint_id))
            await until_a_session_waits_on_a_lock(monitor)
            try:
                async with asyncio.timeout(HANG_S):
                    # run B checkpoints and reads it back while A's write waits
                    other = await put(saver, "run-b")
                    found = await saver.aget_tuple(other)
                    listed = [
                        c async for c in saver.alist({"configurable": {"thread_id": "run-b"}})
                    ]
            except TimeoutError:
                pytest.fail("run B's checkpoint calls waited behind run A's held write")

            assert not held.done()
            assert found is not None
            assert found.checkpoint["channel_values"] == {"question": "question of run-b"}
            assert [c.config["configurable"]["checkpoint_id"] for c in listed] == [
                other["configurable"]["checkpoint_id"]
            ]
        # the holder let go: A's write goes through
        rewritten = await asyncio.wait_for(held, HANG_S)
        assert rewritten["configurable"]["checkpoint_id"] == checkpoint_id
        assert (await saver.aget_tuple(rewritten)) is not None


async def test_leases_keep_their_connections_while_every_checkpoint_write_waits(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POOL_MAX_ENV, "4")
    runs = [f"run-{i}" for i in range(4)]
    async with (
        open_checkpointer(postgres_url) as saver,
        await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as holder,
        await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as monitor,
    ):
        stored = [await put(saver, run) for run in runs]
        async with holder.transaction():
            # as many writes as the pool has connections, each stuck on a held row
            await holder.execute(
                "SELECT 1 FROM checkpoints WHERE thread_id = ANY(%s) FOR UPDATE", (runs,)
            )
            held = [
                asyncio.create_task(put(saver, run, config["configurable"]["checkpoint_id"]))
                for run, config in zip(runs, stored, strict=True)
            ]
            await until_a_session_waits_on_a_lock(monitor, sessions=4 - LEASE_CONNECTIONS)
            try:
                async with asyncio.timeout(HANG_S):
                    # another run starts (its lease) and ends (its release) meanwhile
                    lease = await take_lease(saver, "run-x", "fusion serve")
                    assert lease is not None
                    await lease.release()
            except TimeoutError:
                pytest.fail("the lease waited behind checkpoint writes stuck in the database")
            assert not any(write.done() for write in held)
        await asyncio.wait_for(asyncio.gather(*held), HANG_S)
        assert await holder_of(saver, "run-x") is None


async def test_a_pool_of_one_connection_still_serves_twenty_runs(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POOL_MAX_ENV, "1")
    async with open_checkpointer(postgres_url) as saver:
        stored = await asyncio.gather(*(put(saver, f"run-{i}") for i in range(20)))
        found = await asyncio.gather(*(saver.aget_tuple(config) for config in stored))
    assert [f.checkpoint["channel_values"]["question"] for f in found if f] == [
        f"question of run-{i}" for i in range(20)
    ]

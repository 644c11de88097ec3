"""A cancel that psycopg_pool loses while a caller waits for a connection (psycopg#1345,
Python 3.11) still stops the caller: Fusion's pool raises it. Without that, a run whose
client hung up took its next step and paid for it. Real PostgreSQL, real pool; only the
lost cancel is simulated (`tests.fixtures.lost_cancels`), since the race cannot be timed
from outside."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from psycopg.rows import dict_row

from fusion.api import collect, make_context, stream_run
from fusion.pool import CancelSafePool
from fusion.saver import open_checkpointer, postgres_saver
from tests.fixtures.checkpoints import wait_until
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.lost_cancels import PoolThatLosesCancels
from tests.fixtures.panel_scripts import echo_judge

HANG_S = 60.0  # a bound for a hang, so a regression fails instead of stalling
POOL_SIZE = 3


class SafePoolOverALosingOne(CancelSafePool, PoolThatLosesCancels):
    """Fusion's pool in front of a pool that loses every cancel while it waits."""


async def opened(pool_class: type[Any], url: str) -> Any:
    pool = pool_class(
        url,
        min_size=1,
        max_size=POOL_SIZE,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
    )
    await pool.open(wait=True)
    return pool


async def busy(pool: Any) -> list[Any]:
    """Every connection the pool may open, taken, so the next caller waits."""
    return [await pool.getconn() for _ in range(POOL_SIZE)]


async def waiting_for_a_connection(pool: Any) -> None:
    await wait_until(lambda: bool(pool.get_stats().get("requests_waiting", 0)), "a caller to wait")


async def cancelled_while_waiting(pool: Any, caller: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """`caller`, cancelled while it waits for a connection (every one busy); then the
    connections come back, so the pool hands one over to the cancelled caller."""
    held = await busy(pool)
    task = asyncio.ensure_future(caller)
    await waiting_for_a_connection(pool)
    task.cancel()
    await asyncio.sleep(0.1)  # the cancel lands inside the pool's wait
    for conn in held:
        await pool.putconn(conn)
    await asyncio.wait({task}, timeout=HANG_S)
    if not task.done():
        task.cancel()
        pytest.fail("the cancelled caller neither stopped nor ended")
    return task


async def test_the_pools_lost_cancel_is_raised_and_its_connection_goes_back(
    postgres_url: str,
) -> None:
    losing = await opened(PoolThatLosesCancels, postgres_url)
    try:  # the simulated race: the cancelled caller gets a connection, as in psycopg#1345
        waiter = await cancelled_while_waiting(losing, losing.getconn())
        assert not waiter.cancelled()
        await losing.putconn(waiter.result())
    finally:
        await losing.close()

    safe = await opened(SafePoolOverALosingOne, postgres_url)
    try:
        waiter = await cancelled_while_waiting(safe, safe.getconn())
        assert waiter.cancelled()
        # the connection handed over went back: the whole pool is free again
        held = await asyncio.wait_for(busy(safe), HANG_S)
        for conn in held:
            await safe.putconn(conn)
    finally:
        await safe.close()


async def test_fusions_postgres_saver_uses_the_pool_that_raises_lost_cancels(
    postgres_url: str,
) -> None:
    async with open_checkpointer(postgres_url) as saver:
        assert isinstance(saver.conn, CancelSafePool)  # type: ignore[attr-defined]


async def test_a_run_cancelled_while_it_waits_for_a_connection_pays_for_no_call(
    postgres_url: str, llm_env: ScriptedLLMServer
) -> None:
    """The run is cancelled (a client hanging up) while its first database call waits
    for a connection, and the pool loses the cancel: the run must still stop there,
    before any model is called."""
    for model in ("vendor/a", "vendor/b"):
        llm_env.script(model, Text(f"draft by {model}", cost=0.001))
    llm_env.script("vendor/judge", echo_judge)
    context = make_context(panel=["vendor/a", "vendor/b"], judge="vendor/judge", web=False)
    pool = await opened(SafePoolOverALosingOne, postgres_url)
    try:
        saver = await postgres_saver(pool)
        events = stream_run({"prompt": "Q?"}, context, saver, "t-lost")
        run = await cancelled_while_waiting(pool, collect(events, "t-lost"))
        assert run.cancelled(), "the run went on after it was cancelled"
        assert llm_env.requests == []  # nothing paid after the cancel
    finally:
        await pool.close()

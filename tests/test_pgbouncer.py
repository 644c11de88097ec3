"""Checkpoints and leases through PgBouncer in transaction mode: Fusion's pool settings
(`prepare_threshold=None`, autocommit) make every run of a concurrent batch succeed
while far fewer server connections than clients are shared between them."""

from __future__ import annotations

import asyncio

import pytest

import fusion
from fusion.core.errors import RunBusy
from fusion.lease import take_lease
from fusion.runs import thread_ids
from fusion.saver import open_checkpointer
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.pgbouncer import pgbouncer_url

__all__ = ["pgbouncer_url"]  # the fixture, imported so pytest finds it

RUNS = 30


async def test_concurrent_runs_through_pgbouncer_in_transaction_mode_all_succeed(
    llm_env: ScriptedLLMServer, pgbouncer_url: str
) -> None:
    llm_env.script("vendor/a", lambda _: Text("alpha", delay=0.05))
    llm_env.script("vendor/b", lambda _: Text("beta", delay=0.05))
    llm_env.script("vendor/judge", echo_judge)

    async def one(n: int) -> fusion.FusionResult:
        return await fusion.fuse(
            f"Question {n}?",
            panel=["vendor/a", "vendor/b"],
            judge="vendor/judge",
            web=False,
            db=pgbouncer_url,
        )

    results = await asyncio.gather(*(one(n) for n in range(RUNS)), return_exceptions=True)

    failures = [r for r in results if not isinstance(r, fusion.FusionResult)]
    assert failures == []
    assert [r.status for r in results if isinstance(r, fusion.FusionResult)] == ["ok"] * RUNS
    async with open_checkpointer(pgbouncer_url) as saver:
        listed = await thread_ids(saver, None)
        assert len(listed) == RUNS
        # the leases went through PgBouncer too: each run released its own
        lease = await take_lease(saver, listed[0], "fusion resume")
        assert lease is not None
        with pytest.raises(RunBusy, match="already running: fusion resume"):
            await take_lease(saver, listed[0], "fusion resume")
        await lease.release()

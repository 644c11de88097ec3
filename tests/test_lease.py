"""One run, one runner: a run killed with SIGKILL, resumed by two processes at once,
pays each missing call once, and the loser is refused naming the winner. On SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fusion.lease import TAKE_OVER, holder_of, take_lease
from fusion.lease import _execute as lease_sql
from fusion.saver import open_checkpointer
from tests.fixtures.checkpoints import saved_writes, wait_for, wait_until
from tests.fixtures.cli import fusion_here, run_fusion
from tests.fixtures.llm_replies import ChatRequest, Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.lost_cancels import PoolThatLosesCancels
from tests.fixtures.panel_scripts import echo_judge, responses_in

PANEL = ["vendor/fast-a", "vendor/fast-b", "vendor/slow-c"]
HANG_S = 60.0  # a bound for a hang, so a regression fails instead of stalling


@pytest.fixture
def env(llm_env: ScriptedLLMServer, tmp_path: Path, run_db: str) -> dict[str, str]:
    run_env = {k: v for k, v in os.environ.items() if k != "TAVILY_API_KEY"}
    run_env["FUSION_DB"] = run_db
    run_env["HOME"] = str(tmp_path)
    return run_env


def fusion_process(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fusion.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def killed_after_two_drafts(llm_env: ScriptedLLMServer, env: dict[str, str]) -> str:
    """A `fusion ask` killed with SIGKILL once two of its three drafts are saved;
    its thread ID."""
    llm_env.script("vendor/fast-a", Text("draft A", cost=0.001))
    llm_env.script("vendor/fast-b", Text("draft B", cost=0.001))
    llm_env.script("vendor/slow-c", Hang())
    args = ["ask", "Q?", "--no-web", "--json", "--judge", "vendor/judge"]
    for model in PANEL:
        args += ["--panel", model]
    proc = fusion_process(env, *args)
    assert proc.stderr is not None
    thread_id = proc.stderr.readline().strip().removeprefix("thread: ")
    wait_for(lambda: saved_writes(env["FUSION_DB"], thread_id, "responses") >= 3, "two drafts")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return thread_id


def test_two_resumes_at_once_pay_each_missing_call_once_and_the_loser_is_refused(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    thread_id = killed_after_two_drafts(llm_env, env)
    llm_env.reset()
    gate = threading.Event()  # the winner's missing draft waits until the loser is out

    def slow_draft(request: ChatRequest) -> Text:
        gate.wait(120)
        return Text("draft C", cost=0.001)

    llm_env.script("vendor/slow-c", slow_draft)
    llm_env.script("vendor/judge", echo_judge)

    both = [fusion_process(env, "resume", thread_id, "--json") for _ in range(2)]
    try:
        wait_for(lambda: any(p.poll() is not None for p in both), "one resume to be refused", 120)
        loser = next(p for p in both if p.poll() is not None)
        winner = next(p for p in both if p is not loser)
        loser_out, loser_err = loser.communicate(timeout=30)
        shown = json.loads(fusion_here("show", thread_id, "--json", env=env).stdout)
        assert shown["running"].startswith(f"fusion resume (pid {winner.pid} on ")
    finally:
        gate.set()
    winner_out, winner_err = winner.communicate(timeout=120)

    assert loser.returncode == 2, loser_err
    (line,) = loser_err.strip().splitlines()
    assert line.startswith(f"fusion: error: run {thread_id} is already running: fusion resume")
    assert f"pid {winner.pid} on {socket.gethostname()}" in line
    refusal = json.loads(loser_out)  # --json: the refusal is one JSON object too
    assert refusal["status"] == "error" and refusal["error"]["type"] == "run_busy"
    assert winner.returncode == 0, winner_err
    result = json.loads(winner_out)
    assert result["status"] == "ok" and len(result["responses"]) == 3
    # the scripted server's log: each missing call once, no finished one again
    assert llm_env.requests_for("vendor/fast-a") == []
    assert llm_env.requests_for("vendor/fast-b") == []
    assert len(llm_env.requests_for("vendor/slow-c")) == 1
    (judged,) = llm_env.requests_for("vendor/judge")
    assert sorted(responses_in(judged).values()) == ["draft A", "draft B", "draft C"]
    # released: the run can be read and resumed again (nothing left to do)
    again = run_fusion("resume", thread_id, "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert "already finished" in again.stderr
    assert json.loads(run_fusion("show", thread_id, "--json", env=env).stdout)["running"] is None
    assert len(llm_env.requests_for("vendor/slow-c")) == 1


def test_a_lease_held_elsewhere_refuses_until_it_expires(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    """A holder on another machine cannot be seen to die: its lease stands until its
    term runs out, then the run resumes."""
    thread_id = killed_after_two_drafts(llm_env, env)
    llm_env.reset()
    llm_env.script("vendor/slow-c", Text("draft C"))
    llm_env.script("vendor/judge", echo_judge)
    asyncio.run(hold_elsewhere(env["FUSION_DB"], thread_id, time.time() + 3600))

    refused = fusion_here("resume", thread_id, "--json", env=env)
    assert refused.returncode == 2, refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert "already running: fusion serve (pid 4242 on web-2, since" in line
    assert "when its lease expires" in line
    assert llm_env.requests == []
    # its term runs out (moved into the past rather than waited for)
    asyncio.run(hold_elsewhere(env["FUSION_DB"], thread_id, time.time() - 1))
    resumed = fusion_here("resume", thread_id, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "ok"
    assert len(llm_env.requests_for("vendor/slow-c")) == 1


async def hold_elsewhere(db: str, thread_id: str, expires: float) -> None:
    """The run's lease, held by a process of another machine until `expires`."""
    async with open_checkpointer(Path(db) if "://" not in db else db) as saver:
        before = await holder_of(saver, thread_id)  # the killed `fusion ask`, or web-2
        assert before is not None and before.purpose in ("fusion ask", "fusion serve")
        row = ("other-token", "web-2", 4242, "fusion serve", time.time(), expires)
        assert await lease_sql(saver, TAKE_OVER, (*row, thread_id, before.token))


async def test_a_lease_is_renewed_while_held_and_free_once_released(
    run_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_LEASE_S", "3")
    target = Path(run_db) if "://" not in run_db else run_db
    async with open_checkpointer(target) as saver:
        lease = await take_lease(saver, "t-1", "fusion ask")
        assert lease is not None
        first = await holder_of(saver, "t-1")
        assert first is not None

        for _ in range(1200):  # renewed every third of its 3 s term
            now = await holder_of(saver, "t-1")
            assert now is not None and now.token == lease.token
            if now.expires_at > first.expires_at:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the lease was never renewed")
        with pytest.raises(Exception, match="t-1 is already running: fusion ask"):
            await take_lease(saver, "t-1", "fusion resume")
        await lease.release()
        assert await holder_of(saver, "t-1") is None
        second = await take_lease(saver, "t-1", "fusion resume")
        assert second is not None
        await second.release()


async def test_release_returns_when_the_renewals_cancel_is_lost_in_the_pool(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    monkeypatch.setenv("FUSION_LEASE_S", "1")  # renewed every third of a second
    pool = PoolThatLosesCancels(
        postgres_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    try:
        saver = AsyncPostgresSaver(pool)
        lease = await take_lease(saver, "t-1", "fusion serve")
        assert lease is not None
        async with pool.connection():  # the pool's one connection is busy (a run's write)
            await wait_until(
                lambda: bool(pool.get_stats().get("requests_waiting", 0)),
                "the renewal to wait for that connection",
            )
            releasing = asyncio.ensure_future(lease.release())
            await asyncio.sleep(0.1)  # release() has cancelled the renewal: lost
        await asyncio.wait({releasing}, timeout=HANG_S)
        if not releasing.done():
            releasing.cancel()
            pytest.fail("release() waited for ever on a renewal whose cancel was lost")
        await releasing
        assert await holder_of(saver, "t-1") is None  # released, not left to expire
    finally:
        await pool.close()

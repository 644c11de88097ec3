"""`fusion prune`: old runs' checkpoints removed through the checkpointer's own API,
by age and status, never a running run; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fusion.api import make_context, register_run
from fusion.lease import take_lease
from fusion.prune import parse_age, prune_runs
from fusion.runs import run_config
from fusion.saver import open_checkpointer
from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import Error, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge


@pytest.fixture
def env(llm_env: ScriptedLLMServer, tmp_path: Path, run_db: str) -> dict[str, str]:
    run_env = {k: v for k, v in os.environ.items() if k != "TAVILY_API_KEY"}
    run_env["FUSION_DB"] = run_db
    run_env["HOME"] = str(tmp_path)
    return run_env


def target(env: dict[str, str]) -> str | Path:
    db = env["FUSION_DB"]
    return db if "://" in db else Path(db)


def ask(env: dict[str, str], model: str) -> str:
    proc = fusion_here(
        "ask", "Q?", "--no-web", "--json", "--panel", model, "--judge", "vendor/judge", env=env
    )
    assert proc.returncode in (0, 1), proc.stderr
    return str(json.loads(proc.stdout)["thread_id"])


def runs_of(env: dict[str, str]) -> dict[str, str]:
    listed = fusion_here("runs", "--limit", "100", "--json", env=env)
    return {row["thread_id"]: row["status"] for row in json.loads(listed.stdout)}


async def interrupted_run(db: str | Path, thread_id: str) -> None:
    """A run whose input is saved and nothing else: `interrupted`."""
    async with open_checkpointer(db) as saver:
        context = make_context(panel=["vendor/ok"], judge="vendor/judge", web=False)
        await register_run(saver, {"prompt": "later?"}, context, thread_id)


def test_prune_by_age_and_status_keeps_running_runs(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    llm_env.script("vendor/ok", Text("fine draft"))
    llm_env.script("vendor/bad", Error(400, "scripted refusal"))
    llm_env.script("vendor/judge", echo_judge)
    ok, failed = ask(env, "vendor/ok"), ask(env, "vendor/bad")
    asyncio.run(interrupted_run(target(env), "idle-run"))
    asyncio.run(interrupted_run(target(env), "busy-run"))
    assert runs_of(env) == {
        ok: "ok",
        failed: "failed",
        "idle-run": "interrupted",
        "busy-run": "interrupted",
    }

    # everything is younger than 30 days: nothing goes
    fresh = fusion_here("prune", "--older-than", "30d", "--json", env=env)
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout) == {"dry_run": False, "removed": [], "running": [], "kept": 4}

    async def in_31_days() -> tuple[list[str], list[str], list[str]]:
        later = datetime.now(UTC) + timedelta(days=31)
        async with open_checkpointer(target(env)) as saver:
            lease = await take_lease(saver, "busy-run", "fusion resume")  # running now
            dry = await prune_runs(saver, timedelta(days=30), dry_run=True, now=later)
            assert {r.thread_id for r in dry.removed} == {ok, failed, "idle-run"}
            assert await saver.aget_tuple(run_config(failed)) is not None  # dry: still there
            wet = await prune_runs(saver, timedelta(days=30), ["failed", "interrupted"], now=later)
            assert lease is not None
            await lease.release()
            left = [t async for t in saver.alist(run_config(failed))]
            return [r.thread_id for r in wet.removed], [r.thread_id for r in wet.running], left

    removed, running, left = asyncio.run(in_31_days())
    assert sorted(removed) == sorted([failed, "idle-run"])
    assert running == ["busy-run"]
    assert left == []  # every checkpoint of the run is gone
    assert runs_of(env) == {ok: "ok", "busy-run": "interrupted"}
    gone = fusion_here("show", failed, env=env)
    assert gone.returncode == 2 and f"no run {failed!r}" in gone.stderr

    # from the command line: the ok run, once it is older than a second
    time.sleep(1.1)
    dry = fusion_here("prune", "--older-than", "1s", "--status", "ok", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == "would remove 1 run(s); kept 1"
    as_json = fusion_here(
        "prune", "--older-than", "1s", "--status", "ok", "--dry-run", "--json", env=env
    )
    assert [r["thread_id"] for r in json.loads(as_json.stdout)["removed"]] == [ok]
    assert ok in runs_of(env)
    done = fusion_here("prune", "--older-than", "1s", "--status", "ok,degraded", "--json", env=env)
    assert [r["thread_id"] for r in json.loads(done.stdout)["removed"]] == [ok]
    assert runs_of(env) == {"busy-run": "interrupted"}


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--older-than", "30x"], "give an age such as 30d, 12h, 90m or 2w, not '30x'"),
        (["--older-than", "0d"], "give an age such as 30d"),
        (["--older-than", "1d", "--status", "done"], "unknown status 'done': choose from ok,"),
        ([], "the following arguments are required: --older-than"),
    ],
)
def test_bad_prune_flags_are_one_line_each(flags: list[str], says: str) -> None:
    proc = fusion_here("prune", *flags, env=dict(os.environ))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert says in line


def test_ages() -> None:
    assert parse_age("30d") == timedelta(days=30)
    assert parse_age("12h") == timedelta(hours=12)
    assert parse_age("2w") == timedelta(weeks=2)
    assert parse_age("1.5m") == timedelta(seconds=90)

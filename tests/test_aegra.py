"""Fusion's `langgraph.json` on Aegra, the open-source LangGraph API server, at scale:
two instances share one PostgreSQL and one Redis; the instance running a run is
killed with SIGKILL after 2 of 3 drafts, and the other finishes it from the
LangGraph checkpoint, paying only the missing panelist and the judge, while the
run's progress events and the judge's tokens stream through its API.

Aegra runs in a Python 3.12 venv of its own (tests/fixtures/aegra.py); the test
skips, saying why, only when the machine has no Python 3.12.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.schema import StreamMode

from fusion.core.events import ANSWER_TAG
from tests.fixtures.aegra import AegraInstance, aegra_env, aegra_instances
from tests.fixtures.checkpoints import saved_writes, wait_until
from tests.fixtures.llm_replies import Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, responses_in
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.redis import running_redis
from tests.fixtures.stream_parts import Part, chunk_text, split_event

GRAPH_ID = "fusion"
FAST = ["vendor/fast-a", "vendor/fast-b"]
SLOW = "vendor/slow-c"
PANEL = [*FAST, SLOW]
JUDGE = "vendor/judge"
CONTEXT: dict[str, Any] = {"panel": PANEL, "judge": JUDGE, "web": False}
STREAM_MODES: list[StreamMode] = ["custom", "messages-tuple", "updates"]
TIMEOUT_S = 120.0


@pytest.fixture
def aegra_pair(
    llm_server: ScriptedLLMServer, postgres_server: PostgresServer, tmp_path: Path
) -> Iterator[tuple[list[AegraInstance], str]]:
    """Two Aegra instances on one fresh database and one Redis; the database's URL."""
    database = postgres_server.create_database()
    with running_redis() as redis_url:
        extra = {"FUSION_BASE_URL": llm_server.base_url, "FUSION_API_KEY": "test-key"}
        env = aegra_env(database, redis_url, tmp_path, extra)
        with aegra_instances(env, tmp_path, ("one", "two")) as instances:
            yield instances, database


def claimed_by(database: str, run_id: str) -> str | None:
    """The worker holding the run's lease: `<host>-<pid>-worker-<n>`."""
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT claimed_by FROM runs WHERE run_id = %s", (run_id,)).fetchone()
    return None if row is None else row[0]


def holder_pid(database: str, run_id: str) -> int:
    holder = claimed_by(database, run_id)
    assert holder is not None, "the run is claimed by no worker"
    return int(holder.split("-worker-")[0].rsplit("-", 1)[1])


async def test_an_instance_killed_mid_run_is_finished_by_the_other_which_streams_it(
    aegra_pair: tuple[list[AegraInstance], str], llm: ScriptedLLMServer
) -> None:
    instances, database = aegra_pair
    for model, draft in zip(FAST, ["draft A", "draft B"], strict=True):
        llm.script(model, Text(draft, cost=0.001))
    llm.script(SLOW, Hang(), Text("draft C", cost=0.001))  # hangs until its runner dies
    llm.script(JUDGE, echo_judge)

    first = get_client(url=instances[0].url, api_key=None, timeout=TIMEOUT_S)
    async with first:
        thread_id = (await first.threads.create())["thread_id"]
        run = await first.runs.create(
            thread_id,
            GRAPH_ID,
            input={"prompt": "Do sea otters hold hands?"},
            context=CONTEXT,
            stream_mode=STREAM_MODES,
            stream_subgraphs=True,
        )
    run_id = run["run_id"]
    # two drafts durable in the checkpoint (the third write is fan_out's reset)
    await wait_until(
        lambda: saved_writes(database, thread_id, "responses") >= 3, "two drafts checkpointed"
    )
    runner_pid = holder_pid(database, run_id)
    (runner,) = [i for i in instances if i.proc.pid == runner_pid]
    (survivor,) = [i for i in instances if i is not runner]

    paid_before_kill = len(llm.requests)
    runner.kill()
    second = get_client(url=survivor.url, api_key=None, timeout=TIMEOUT_S)
    async with second, asyncio.timeout(2 * TIMEOUT_S):
        parts = [
            Part(*split_event(part.event), part.data)
            async for part in second.runs.join_stream(thread_id, run_id, stream_mode=STREAM_MODES)
        ]
        finished = await second.runs.get(thread_id, run_id)
        state = await second.threads.get_state(thread_id)

    assert finished["status"] == "success", survivor.log_tail()
    values = state["values"]
    assert isinstance(values, dict)
    assert values["status"] == "ok"
    assert sorted(r["model"] for r in values["responses"]) == PANEL
    # the scripted server's log since the kill: the missing panelist and the judge only
    paid_after_kill = llm.requests[paid_before_kill:]
    assert sorted(r.model for r in paid_after_kill) == [JUDGE, SLOW], [
        r.model for r in paid_after_kill
    ]
    (judged,) = llm.requests_for(JUDGE)
    assert sorted(responses_in(judged).values()) == ["draft A", "draft B", "draft C"]
    assert claimed_by(database, run_id) is None  # the survivor released its lease

    # the survivor's stream: the re-queued run's progress and the judge's tokens
    events = [p.data for p in parts if p.mode == "custom"]
    assert {"event": "panelist_started", "model": SLOW} in events
    assert [e["model"] for e in events if e["event"] == "draft_done"][-1:] == [SLOW], events
    (started,) = [e for e in events if e["event"] == "judge_started"]
    assert started["drafts"] == 3
    assert [e["status"] for e in events if e["event"] == "judge_done"] == ["ok"]
    answer = [
        chunk_text(message)
        for p in parts
        if p.mode == "messages"
        for message, meta in [p.data]
        if ANSWER_TAG in (meta.get("tags") or [])
    ]
    assert len([t for t in answer if t]) > 1, answer  # streamed, in several chunks
    assert "".join(answer).strip() == values["answer"]
    assert runner.proc.returncode == -9

"""Re-judging stored drafts: a new run, only the judge called, the source untouched.

Against the scripted server: the request log shows no panel request; the new run has
its own thread and names its source; the source's checkpoints (every one, with its
writes) are the same before and after; a run whose judge failed can be re-judged;
`fusion rejudge --json` has the shape of `fusion ask --json`.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

import fusion
from fusion.api import fuse
from fusion.core.errors import ConfigError
from fusion.runs import db_path, open_checkpointer, run_config
from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import Error, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, responses_in

PANEL = ["vendor/a", "vendor/b"]


def script_panel(llm: ScriptedLLMServer) -> None:
    llm.script("vendor/a", Text("alpha says the tide turns at six", cost=0.001))
    llm.script("vendor/b", Text("beta says the tide turns at seven", cost=0.002))


async def checkpoints_of(thread_id: str) -> list[tuple[Any, ...]]:
    """Every checkpoint of a thread (all namespaces), with its metadata and writes."""
    async with open_checkpointer(db_path()) as saver:
        return [
            (
                c.config["configurable"].get("checkpoint_ns"),
                c.config["configurable"]["checkpoint_id"],
                json.dumps(c.metadata, sort_keys=True, default=str),
                repr(sorted(c.checkpoint["channel_versions"].items())),
                repr(sorted((w[0], w[1]) for w in c.pending_writes or [])),
            )
            async for c in saver.alist(run_config(thread_id))
        ]


async def test_rejudge_calls_only_the_judge_in_a_new_run_and_leaves_the_source_as_it_was(
    llm_env: ScriptedLLMServer,
) -> None:
    script_panel(llm_env)
    llm_env.script("vendor/judge", echo_judge)
    source = await fuse("When does the tide turn?", panel=PANEL, judge="vendor/judge", web=False)
    assert source.status == "ok" and source.thread_id
    before = await checkpoints_of(source.thread_id)

    llm_env.reset()  # an empty request log; an unscripted panelist would still answer
    llm_env.script("vendor/other-judge", echo_judge)
    result = await fusion.rejudge(source.thread_id, judge="vendor/other-judge")

    assert [r.model for r in llm_env.requests] == ["vendor/other-judge"]  # 0 panel requests
    assert result.thread_id and result.thread_id != source.thread_id
    assert result.rejudge_of == source.thread_id
    assert result.status == "ok" and result.answer and result.analysis is not None
    (judged,) = llm_env.requests
    assert sorted(responses_in(judged).values()) == sorted(r.text for r in source.responses)
    assert [r.model_dump() for r in result.responses] == [r.model_dump() for r in source.responses]
    # the new run paid only for judging; each copied draft keeps its own cost
    assert result.usage.completion_tokens == judged.usage["completion_tokens"]
    assert result.usage.cost_usd != source.usage.cost_usd
    assert await checkpoints_of(source.thread_id) == before
    assert len(await checkpoints_of(result.thread_id)) >= 3  # input, drafts, judge


async def test_a_run_whose_judge_failed_can_be_rejudged(llm_env: ScriptedLLMServer) -> None:
    script_panel(llm_env)
    llm_env.script("vendor/judge", lambda r: Error(400, "context too long"))
    failed = await fuse("When does the tide turn?", panel=PANEL, judge="vendor/judge", web=False)
    assert failed.status == "failed" and failed.failure_reason == "judge_upstream_error"
    assert failed.thread_id
    before = await checkpoints_of(failed.thread_id)

    llm_env.reset()
    llm_env.script("vendor/judge", echo_judge)
    result = await fusion.rejudge(failed.thread_id, instructions="Answer in one line.")

    assert {r.model for r in llm_env.requests} == {"vendor/judge"}
    assert result.status == "ok" and result.failure_reason is None
    assert "alpha says" in (result.answer or "")
    assert "Answer in one line." in json.dumps(llm_env.requests[0].body)
    assert await checkpoints_of(failed.thread_id) == before


async def test_bad_sources_are_refused_before_any_model_call(
    llm_env: ScriptedLLMServer,
) -> None:
    with pytest.raises(ConfigError, match=r"no run .nope.*fusion runs"):
        await fusion.rejudge("nope")
    llm_env.script("vendor/a", lambda r: Error(500, "down"))
    llm_env.script("vendor/judge", echo_judge)
    empty = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)
    assert empty.thread_id
    llm_env.reset()
    with pytest.raises(ConfigError, match=r"no draft to judge.*fusion resume"):
        await fusion.rejudge(empty.thread_id)
    with pytest.raises(ConfigError, match="judge_order"):
        await fusion.rejudge(empty.thread_id, judge_order="sideways")  # type: ignore[arg-type]
    assert llm_env.requests == []


def test_cli_rejudge_json_has_the_shape_of_ask_and_show_names_the_source(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    script_panel(llm_env)
    llm_env.script("vendor/judge", echo_judge)
    asked = fusion_here(
        "ask", "Q?", "--no-web", "--json", "--judge", "vendor/judge",
        "--panel", PANEL[0], "--panel", PANEL[1], env=env,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    source = json.loads(asked.stdout)

    llm_env.reset()
    llm_env.script("vendor/judge", echo_judge)
    proc = fusion_here(
        "rejudge", source["thread_id"][:8], "--json", "--judge-order", "answer_first", env=env
    )

    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(result) == list(source)  # the shape of `fusion ask --json`
    new_id = result["thread_id"]
    assert proc.stderr.splitlines()[0] == f"thread: {new_id}" and new_id != source["thread_id"]
    assert result["rejudge_of"] == source["thread_id"]
    assert result["judge_mode"] == "answer_first"
    assert {r.model for r in llm_env.requests} == {"vendor/judge"}

    shown = fusion_here("show", new_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"re-judges the drafts of {source['thread_id']}" in shown.stdout
    shown_json = json.loads(fusion_here("show", new_id, "--json", env=env).stdout)
    assert shown_json["pending"] == [] and not shown_json["interrupted"]
    assert shown_json["question"] == "Q?"
    listed = json.loads(fusion_here("runs", "--json", env=env).stdout)
    assert [r["thread_id"] for r in listed[:2]] == [new_id, source["thread_id"]]
    refused = fusion_here("rejudge", "no-such-run", env=env)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "no run 'no-such-run'" in line


def test_a_rejudge_stopped_while_starting_is_refused_and_one_stopped_after_judges(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    """Killed between its input and its copied drafts, a re-judge's resume would call
    the panel: it is refused instead. Killed after both, resume calls the judge only."""
    script_panel(llm_env)
    llm_env.script("vendor/judge", echo_judge)
    source, half, whole = asyncio.run(stopped_rejudges())
    llm_env.reset()
    env = {**os.environ, "HOME": str(tmp_path)}

    refused = fusion_here("resume", half, "--json", env=env)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert f"fusion rejudge {source}" in line
    assert llm_env.requests == []

    llm_env.script("vendor/judge", echo_judge)
    resumed = fusion_here("resume", whole, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok" and result["rejudge_of"] == source
    assert {r.model for r in llm_env.requests} == {"vendor/judge"}


async def stopped_rejudges() -> tuple[str, str, str]:
    """A run, and two re-judges of it: one stopped after its input checkpoint, one
    after its copied drafts (as a kill at those moments leaves them)."""
    from fusion.rejudging import prepare_rejudge, register_rejudge, start_rejudge

    source = await fuse("Q?", panel=PANEL, judge="vendor/judge", web=False)
    assert source.thread_id
    async with open_checkpointer(db_path()) as saver:
        half = await prepare_rejudge(saver, source.thread_id)
        await register_rejudge(saver, half)
        whole = await prepare_rejudge(saver, source.thread_id)
        await start_rejudge(saver, whole)
    return source.thread_id, half.thread_id, whole.thread_id

"""Output cut at its token limit (`finish_reason: length`) is seen and said: kept per
call, marked on the draft, shown to the judge, and the run is `degraded`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusion import fuse
from fusion.markdown import run_markdown
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import cut_judge, echo_judge, responses_in

CUT = "A long draft that loops and loops and"


def script_cut_panel(llm: ScriptedLLMServer) -> None:
    llm.script("vendor/cut", Text(CUT, completion_tokens=1942, finish_reason="length"))
    llm.script("vendor/whole", Text("A whole draft."))
    llm.script("vendor/judge", echo_judge)


async def test_a_draft_cut_by_its_token_limit_is_marked_and_the_run_degraded(
    llm_env: ScriptedLLMServer,
) -> None:
    script_cut_panel(llm_env)
    result = await fuse("Q?", panel=["vendor/cut", "vendor/whole"], judge="vendor/judge", web=False)

    assert result.status == "degraded"
    drafts = {r.model: r for r in result.responses}
    assert drafts["vendor/cut"].truncated is True and drafts["vendor/cut"].text == CUT
    assert drafts["vendor/whole"].truncated is False
    # every token is counted, the cut call's included
    assert drafts["vendor/cut"].usage.completion_tokens == 1942
    served = sum(r.usage["completion_tokens"] for r in llm_env.requests if r.usage)
    assert result.usage.completion_tokens == served
    # the judge is told which response was cut (and only that one)
    shown = responses_in(llm_env.requests_for("vendor/judge")[0])
    cut_notes = [text for text in shown.values() if "cut off at its length limit" in text]
    assert len(cut_notes) == 1 and cut_notes[0].startswith(CUT)


def test_json_and_show_say_a_draft_was_cut(
    llm_env: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    script_cut_panel(llm_env)
    env = {k: v for k, v in os.environ.items() if k != "TAVILY_API_KEY"}
    env["FUSION_DB"] = str(tmp_path / "runs.sqlite")
    asked = run_fusion(
        "ask", "Q?", "--no-web", "--json", "--panel", "vendor/cut", "--judge", "vendor/judge",
        env=env,
    )  # fmt: skip
    result = json.loads(asked.stdout)
    assert asked.returncode == 0, asked.stderr
    assert result["status"] == "degraded"
    assert result["responses"][0]["truncated"] is True
    assert "truncated=True" in asked.stderr  # the draft_done progress line

    shown = run_fusion("show", result["thread_id"], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "cut off vendor/cut: draft hit its token limit" in shown.stdout


CUT_ANSWER = "The fused answer, cut he"


async def test_the_report_says_which_draft_and_whether_the_answer_was_cut(
    llm_env: ScriptedLLMServer,
) -> None:
    """The Markdown report (web export, MCP's fusion://runs/{id}) marks a cut draft and
    a cut answer, so nobody reads either as finished."""
    script_cut_panel(llm_env)
    llm_env.script("vendor/judge", cut_judge(CUT_ANSWER))
    result = await fuse("Q?", panel=["vendor/cut", "vendor/whole"], judge="vendor/judge", web=False)
    assert result.answer_truncated is True and result.failure_reason == "judge_truncated"

    report = run_markdown(result, "Q?")
    answer_section = report.split("## Answer", 1)[1].split("## Analysis", 1)[0]
    assert "**Truncated:** the answer was cut at the judge's token limit" in answer_section
    assert CUT_ANSWER in answer_section
    assert "**Failure reason:** `judge_truncated`" in report
    cut, whole = report.split("### vendor/cut", 1)[1].split("### vendor/whole", 1)
    assert "**truncated** (cut at its token limit)" in cut
    assert "truncated" not in whole

    whole_result = result.model_copy(
        update={
            "answer_truncated": False,
            "failure_reason": None,
            "failure_message": None,
            "responses": [r.model_copy(update={"truncated": False}) for r in result.responses],
        }
    )
    assert "runcated" not in run_markdown(whole_result, "Q?")  # only what was cut says so

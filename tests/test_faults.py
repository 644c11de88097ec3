"""Faults: retries, failing panelists, deadline and quorum, judge failures."""

from __future__ import annotations

import time

from fusion import fuse
from fusion.api import make_context
from fusion.graph import graph
from tests.fixtures.llm_replies import Error, Hang, Raw, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, is_analysis_request, is_verdict_request


async def test_transient_503s_are_retried_and_the_draft_is_used(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/flaky", Error(503), Error(503), Text("third time lucky"))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse("Q?", panel=["vendor/flaky"], judge="vendor/judge", web=False)

    assert [r.status for r in llm_env.requests_for("vendor/flaky")] == [503, 503, 200]
    assert result.status == "ok"
    assert result.responses[0].text == "third time lucky"


async def test_a_panelist_that_always_fails_leaves_the_run_degraded_and_named(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/broken", lambda r: Error(500, "upstream exploded"))
    llm_env.script("vendor/good", Text("good draft"))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse(
        "Q?", panel=["vendor/broken", "vendor/good"], judge="vendor/judge", web=False
    )

    assert result.status == "degraded"
    assert [(f.model, f.reason) for f in result.failed_models] == [
        ("vendor/broken", "upstream_error")
    ]
    assert "upstream exploded" in result.failed_models[0].message
    assert result.answer and "vendor/broken" in result.answer  # says who is missing
    assert {r.model: r.status for r in result.responses} == {
        "vendor/broken": "failed",
        "vendor/good": "ok",
    }


async def test_401_is_requested_exactly_once_and_reported(llm_env: ScriptedLLMServer) -> None:
    llm_env.script("vendor/locked", lambda r: Error(401, "invalid key for vendor"))
    llm_env.script("vendor/good", Text("good draft"))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse(
        "Q?", panel=["vendor/locked", "vendor/good"], judge="vendor/judge", web=False
    )

    assert len(llm_env.requests_for("vendor/locked")) == 1
    (failed,) = result.failed_models
    assert failed.reason == "unauthorized" and "invalid key for vendor" in failed.message


async def test_402_and_429_have_typed_reasons(llm_env: ScriptedLLMServer) -> None:
    llm_env.script("vendor/broke", lambda r: Error(402, "add credits"))
    llm_env.script("vendor/busy", lambda r: Error(429, "slow down", headers={"Retry-After": "0"}))
    llm_env.script("vendor/good", Text("good draft"))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse(
        "Q?", panel=["vendor/broke", "vendor/busy", "vendor/good"], judge="vendor/judge", web=False
    )

    reasons = {f.model: f.reason for f in result.failed_models}
    assert reasons == {"vendor/broke": "insufficient_credits", "vendor/busy": "rate_limited"}
    assert len(llm_env.requests_for("vendor/broke")) == 1
    assert len(llm_env.requests_for("vendor/busy")) == 3  # retried, honouring Retry-After


async def test_deadline_cuts_a_hanging_panelist_and_the_judge_proceeds_with_quorum(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/hang", Hang())
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/b", Text("draft b"))
    llm_env.script("vendor/judge", echo_judge)

    called = time.monotonic()  # the deadline's clock starts after this, never before
    result = await fuse(
        "Q?",
        panel=["vendor/hang", "vendor/a", "vendor/b"],
        judge="vendor/judge",
        web=False,
        deadline_s=2,
        quorum=2,
    )

    assert result.status == "degraded"
    assert [(f.model, f.reason) for f in result.failed_models] == [("vendor/hang", "timeout")]
    judge_request = llm_env.requests_for("vendor/judge")[0]
    # Order, not thresholds a loaded machine could break: the judge came after the
    # deadline (a lower bound load can only push later) and after both drafts...
    assert judge_request.started - called >= 2
    for model in ("vendor/a", "vendor/b"):
        (draft,) = llm_env.requests_for(model)
        assert draft.ended is not None and draft.ended <= judge_request.started
    (hung,) = llm_env.requests_for("vendor/hang")
    assert hung.ended is None or hung.ended >= judge_request.started  # ...not after the hang
    assert result.answer and "vendor/hang (timeout)" in result.answer


async def test_fewer_drafts_than_quorum_fails_the_run_keeping_the_drafts(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/broken", lambda r: Error(400, "bad request"))
    llm_env.script("vendor/a", Text("draft a", cost=0.001))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse(
        "Q?", panel=["vendor/broken", "vendor/a"], judge="vendor/judge", web=False, quorum=2
    )

    assert result.status == "failed"
    assert result.failure_reason == "insufficient_panel"
    assert llm_env.requests_for("vendor/judge") == []
    assert [r.text for r in result.responses if r.status == "ok"] == ["draft a"]
    assert result.usage.cost_usd == 0.001


async def test_all_panelists_failing_is_all_panels_failed(llm_env: ScriptedLLMServer) -> None:
    llm_env.script("vendor/broken", lambda r: Error(404, "no such model"))
    result = await fuse("Q?", panel=["vendor/broken"], judge="vendor/judge", web=False)
    assert result.status == "failed" and result.failure_reason == "all_panels_failed"
    assert result.failed_models[0].reason == "model_not_found"


async def test_judge_in_prose_falls_back_to_two_calls_keeps_the_answer_and_types_the_reason(
    llm_env: ScriptedLLMServer,
) -> None:
    """A judge that ignores the forced tool (as llama.cpp's server does) and writes
    prose: the run says so (`judge_mode`), asks for the analysis (repaired once) and
    then the answer, and keeps the answer with a typed reason for the analysis."""
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", lambda r: Text("Draft a is right."))

    result = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)

    assert result.status == "degraded"
    assert result.judge_mode == "two_calls"
    assert result.answer == "Draft a is right."
    assert result.analysis is None
    assert result.failure_reason == "judge_not_valid_json"
    assert result.responses[0].text == "draft a"
    verdict, analysis, repair, answer = llm_env.requests_for("vendor/judge")
    assert is_verdict_request(verdict)
    assert is_analysis_request(analysis) and not is_verdict_request(analysis)
    assert "could not be used" in repair.text  # one repair retry for the analysis
    assert not is_analysis_request(answer)
    assert result.usage.completion_tokens == sum(
        r.usage["completion_tokens"] for r in llm_env.requests if r.usage
    )


async def test_verdict_with_a_bad_analysis_keeps_its_answer_and_the_fallback_adds_it(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script(
        "vendor/judge",
        lambda r: Structured({"consensus": 42, "answer": "answer a"}),
    )
    llm_env.script("vendor/backup", echo_judge)

    result = await fuse(
        "Q?", panel=["vendor/a"], judge="vendor/judge", fallback_judge="vendor/backup", web=False
    )

    assert result.status == "ok"
    assert result.answer == "answer a"
    verdict, repair = llm_env.requests_for("vendor/judge")  # the verdict, the repair
    assert is_verdict_request(verdict) and not is_verdict_request(repair)
    (backup_request,) = llm_env.requests_for("vendor/backup")
    assert is_analysis_request(backup_request) and not is_verdict_request(backup_request)
    assert "answer a" in backup_request.text
    assert result.analysis and result.analysis.unique_insights[0].insight == "draft a"


async def test_fallback_judge_writes_the_answer_when_the_judge_cannot(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", lambda r: Error(400, "context too long"))
    llm_env.script("vendor/backup", echo_judge)

    result = await fuse(
        "Q?", panel=["vendor/a"], judge="vendor/judge", fallback_judge="vendor/backup", web=False
    )

    assert result.status == "ok"
    assert result.answer and "draft a" in result.answer
    assert len(llm_env.requests_for("vendor/judge")) == 1  # a 400 is not retried
    assert len(llm_env.requests_for("vendor/backup")) == 1


async def test_judge_upstream_error_and_empty_completion_are_typed(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", lambda r: Text("draft a"))
    llm_env.script("vendor/judge", lambda r: Error(400, "context too long"))
    result = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)
    assert result.failure_reason == "judge_upstream_error"

    llm_env.script("vendor/judge", lambda r: Raw(200, _empty_completion()))
    state = await graph.ainvoke(  # not streamed: the raw whole reply is read
        {"prompt": "Q?"},
        context=make_context(panel=["vendor/a"], judge="vendor/judge", web=False),
    )
    assert state["failure_reason"] == "judge_empty_completion"

    llm_env.script("vendor/judge", lambda r: Text(""))  # streamed by fuse()
    result = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)
    assert result.failure_reason == "judge_empty_completion"
    assert result.responses[0].text == "draft a"


def _empty_completion() -> str:
    import json

    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "vendor/judge",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": ""},
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5},
        }
    )

"""The judge: its analysis, then the answer, in one streamed request.

Against the scripted server: one judge request whose schema puts the analysis fields
before `answer`; the answer streams as readable Markdown in several chunks (no JSON
syntax, no escapes); analysis and answer both land; the cost is the provider's. Then
the fallbacks and the answer-first order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fusion.api import make_context, stream_run
from fusion.result import FusionResult
from tests.fixtures.llm_replies import ChatRequest, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import (
    analysis_for,
    echo_judge,
    is_analysis_request,
    is_verdict_request,
    responses_in,
    schema_fields,
)

PANEL = ["vendor/a", "vendor/b"]
ANALYSIS_FIELDS = ["consensus", "contradictions", "partial_coverage", "unique_insights"]
# Markdown with what JSON must escape: quotes, backslashes, newlines, non-ASCII.
ANSWER = (
    '## The sky\n\nIt is "blue" by day \\ grey at dusk — see *Rayleigh*.\n\n'
    "- scattering ∝ 1/λ⁴ 🌅\n- a second point, with `code`\n"
)


def script(llm: ScriptedLLMServer, judge: Any = None) -> None:
    llm.script("vendor/a", Text("alpha says the sky is blue", cost=0.001))
    llm.script("vendor/b", Text("beta says the sky is grey", cost=0.001))
    llm.script("vendor/judge", judge or verdict_judge)


def verdict_judge(request: ChatRequest) -> Text | Structured:
    """Whatever it is asked (verdict, analysis, answer), with a known cost."""
    analysis = analysis_for(responses_in(request))
    if is_verdict_request(request):
        return Structured({**analysis, "answer": ANSWER}, cost=0.0007)
    if is_analysis_request(request):
        return Structured(analysis, cost=0.0003)
    return Text(ANSWER, cost=0.0004)


async def run(**options: Any) -> tuple[list[str], list[dict[str, Any]], Any]:
    """A streamed run: the answer's chunks, the progress events, the result."""
    context = make_context(panel=PANEL, judge="vendor/judge", web=False, **options)
    chunks: list[str] = []
    events: list[dict[str, Any]] = []
    final: dict[str, Any] = {}
    async for kind, data in stream_run({"prompt": "What colour is the sky?"}, context, None, "t"):
        if kind == "answer":
            chunks.append(data)
        elif kind == "custom":
            events.append(data)
        else:
            final = data
    return chunks, events, FusionResult.from_state(final, "t")


async def test_one_streamed_request_analysis_first_answer_in_markdown_chunks(
    llm_env: ScriptedLLMServer,
) -> None:
    script(llm_env)
    chunks, events, result = await run()

    (request,) = llm_env.requests_for("vendor/judge")  # no fallback, no repair
    assert request.stream
    fields = schema_fields(request)
    assert fields[-1] == "answer" and fields[: len(ANALYSIS_FIELDS)] == ANALYSIS_FIELDS
    assert "blind_spots" in fields[:-1]
    # the answer streamed in many chunks of its own text: no JSON syntax, no escapes
    assert len(chunks) > 5
    assert "".join(chunks) == ANSWER
    assert result.answer == ANSWER.strip()
    for chunk in chunks:
        assert '"answer"' not in chunk and '\\"' not in chunk and "\\n" not in chunk
        assert "\\u" not in chunk and not chunk.startswith("{")
    assert result.analysis is not None
    assert {i.model for i in result.analysis.unique_insights} == set(PANEL)
    assert result.status == "ok" and result.judge_mode == "single_call"
    assert not [e for e in events if e["event"] == "judge_fallback"]
    # the cost is exact: the provider's figure for each of the three calls
    assert result.usage.cost_usd == pytest.approx(0.001 + 0.001 + 0.0007)
    assert result.usage.cost_complete
    answered = [r for r in llm_env.requests if r.usage]
    assert result.usage.completion_tokens == sum(r.usage["completion_tokens"] for r in answered)


@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
async def test_json_content_methods_stream_the_answer_too(
    llm_env: ScriptedLLMServer, method: str
) -> None:
    script(llm_env)
    chunks, _events, result = await run(judge_method=method)

    (request,) = llm_env.requests_for("vendor/judge")
    assert request.body.get("response_format") and not request.body.get("tools")
    assert len(chunks) > 5 and "".join(chunks) == ANSWER
    assert result.status == "ok" and result.analysis is not None
    assert result.usage.cost_usd == pytest.approx(0.002 + 0.0007)


async def test_a_json_schema_judge_is_asked_for_a_bounded_analysis_and_read_leniently(
    llm_env: ScriptedLLMServer,
) -> None:
    """Constrained decoders (llama.cpp, vLLM) keep a small model inside the schema until
    it closes it: the analysis's lists and strings carry bounds so it ends, the answer
    does not. A provider that ignores the bounds loses nothing: the reply is read by
    the unbounded schema."""
    long_point = "a point longer than any bound " * 40
    many = [f"{long_point} {i}" for i in range(12)]

    def overflowing_judge(request: ChatRequest) -> Structured:
        analysis = analysis_for(responses_in(request)) | {"consensus": many}
        return Structured({**analysis, "answer": ANSWER}, cost=0.0007)

    script(llm_env, overflowing_judge)
    _chunks, _events, result = await run(judge_method="json_schema")

    (request,) = llm_env.requests_for("vendor/judge")
    schema = request.body["response_format"]["json_schema"]["schema"]
    fields = schema["properties"]
    assert fields["consensus"]["maxItems"] < len(many)
    assert fields["consensus"]["items"]["maxLength"] < len(long_point)
    stances = fields["contradictions"]["items"]["properties"]["stances"]
    assert stances["maxItems"] == len(PANEL)  # one stance per response at most
    assert stances["items"]["properties"]["response"]["enum"] == ["A", "B"]
    covered = fields["partial_coverage"]["items"]["properties"]["responses"]
    assert covered["maxItems"] == len(PANEL) and covered["items"]["enum"] == ["A", "B"]
    assert "maxLength" not in fields["answer"] and fields["answer"]["minLength"] == 1
    assert result.status == "ok" and result.answer == ANSWER.strip()
    assert result.analysis is not None and result.analysis.consensus == many


async def test_a_judge_ignoring_the_forced_tool_falls_back_to_two_calls_and_says_so(
    llm_env: ScriptedLLMServer,
) -> None:
    """llama.cpp's server ignores a named tool_choice: the judge writes prose. The
    run says so and continues in two calls, analysis then answer (streamed)."""

    def llama_like(request: ChatRequest) -> Text | Structured:
        if request.body.get("tool_choice") and not request.body.get("response_format"):
            return Text("I think the sky is blue.", cost=0.0001)  # tool ignored
        return verdict_judge(request)

    script(llm_env, llama_like)
    chunks, events, result = await run()

    verdict, analysis, answer = llm_env.requests_for("vendor/judge")
    assert verdict.body["tools"] and analysis.body["response_format"]["type"] == "json_schema"
    assert answer.stream and not is_analysis_request(answer)
    (fallback,) = [e for e in events if e["event"] == "judge_fallback"]
    assert fallback == {
        "event": "judge_fallback",
        "model": "vendor/judge",
        "reason": "tool_choice_ignored",
        "mode": "two_calls",
        "method": "json_schema",
    }
    assert result.judge_mode == "two_calls" and result.judge_method == "json_schema"
    assert result.status == "ok" and result.analysis is not None
    assert "".join(chunks) == ANSWER  # only the answer call's text, streamed
    assert result.usage.cost_usd == pytest.approx(0.002 + 0.0001 + 0.0003 + 0.0004)


async def test_a_model_configured_for_two_calls_asks_analysis_then_answer(
    llm_env: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[models."vendor/judge"]\njudge_single_call = false\njudge_method = "json_schema"\n'
    )
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    script(llm_env)
    chunks, _events, result = await run()

    analysis, answer = llm_env.requests_for("vendor/judge")
    assert analysis.body.get("response_format") and not is_verdict_request(analysis)
    assert answer.stream and not is_analysis_request(answer)
    # the answer is written from the analysis, which is in its conversation
    assert json.loads(answer.messages[-2]["content"])["consensus"] == ["every response answered"]
    assert "".join(chunks) == ANSWER and result.judge_mode == "two_calls"
    assert result.status == "ok" and result.analysis is not None


async def test_answer_first_order_stays_an_option(llm_env: ScriptedLLMServer) -> None:
    script(llm_env)
    chunks, _events, result = await run(judge_order="answer_first")

    answer, analysis = llm_env.requests_for("vendor/judge")
    assert answer.stream and not is_analysis_request(answer)
    assert is_analysis_request(analysis) and not is_verdict_request(analysis)
    assert "".join(chunks) == ANSWER
    assert result.judge_mode == "answer_first" and result.analysis is not None


async def test_a_verdict_that_is_not_json_is_asked_for_once_more(
    llm_env: ScriptedLLMServer,
) -> None:
    replies = iter([Text("{not json", cost=0.0002)])

    def flaky(request: ChatRequest) -> Text | Structured:
        return next(replies, None) or verdict_judge(request)

    script(llm_env, flaky)
    _chunks, events, result = await run(judge_method="json_schema")

    _bad, repaired = llm_env.requests_for("vendor/judge")
    assert "could not be used" in repaired.text and is_verdict_request(repaired)
    assert [e["reason"] for e in events if e["event"] == "judge_retry"] == ["judge_not_valid_json"]
    assert result.status == "ok" and result.answer == ANSWER.strip()
    assert result.usage.cost_usd == pytest.approx(0.002 + 0.0002 + 0.0007)


async def test_echo_judge_answer_and_analysis_name_the_real_models(
    llm_env: ScriptedLLMServer,
) -> None:
    script(llm_env, echo_judge)
    _chunks, _events, result = await run()
    assert result.analysis is not None
    stances = {s.model: s.stance for s in result.analysis.contradictions[0].stances}
    assert stances == {
        "vendor/a": "alpha says the sky is blue",
        "vendor/b": "beta says the sky is grey",
    }

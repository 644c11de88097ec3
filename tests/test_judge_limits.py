"""The judge at its limits, against the scripted server: an answer cut at the token
limit is kept and said (`degraded`, `judge_truncated`, `answer_truncated`), a cut-off
structured reply (the SDK's LengthFinishReasonError) is counted and repaired, and
every token of it is in `usage`."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from fusion import fuse
from fusion.serve.sent import RESTARTED
from tests.fixtures.llm_replies import ChatRequest, Error, Structured, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import (
    analysis_for,
    answer_for,
    echo_judge,
    is_verdict_request,
    responses_in,
    schema_fields,
)
from tests.fixtures.serve import SERVER_KEY, FusionServer, fusion_server

__all__ = ["fusion_server"]  # the fixture, imported so pytest finds it here

CUT_ANSWER = "The answer, cut he"


def served_completion_tokens(llm: ScriptedLLMServer) -> int:
    return sum(r.usage["completion_tokens"] for r in llm.requests if r.usage)


def cut_verdict(request: ChatRequest) -> ToolCalls:
    """A verdict whose analysis is whole and whose answer stops mid-word."""
    name = request.body["tool_choice"]["function"]["name"]
    analysis = json.dumps(analysis_for(responses_in(request)))
    text = analysis[:-1] + f', "answer": "{CUT_ANSWER}'
    return ToolCalls(
        [(name, {})], arguments_text=text, completion_tokens=1459, finish_reason="length"
    )


async def test_a_judge_answer_cut_at_its_limit_is_kept_and_the_run_degraded(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", cut_verdict)

    result = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)

    assert result.status == "degraded"
    assert result.failure_reason == "judge_truncated"
    assert result.answer_truncated is True
    assert result.answer == CUT_ANSWER
    assert result.analysis is not None  # written whole before the answer
    assert len(llm_env.requests_for("vendor/judge")) == 1
    assert result.usage.completion_tokens == served_completion_tokens(llm_env)
    assert result.usage.completion_tokens >= 1459


def cut_then_whole(request: ChatRequest) -> Text | Structured:
    """json_schema judge: the single verdict is cut (the SDK raises), then the two
    calls of the fallback (analysis, then answer) succeed."""
    responses = responses_in(request)
    if is_verdict_request(request):
        partial = json.dumps(analysis_for(responses))[:40]
        return Text(partial, completion_tokens=1424, finish_reason="length")
    if schema_fields(request):
        return Structured(analysis_for(responses))
    return Text(answer_for(responses))


async def test_a_cut_off_structured_reply_is_counted_and_repaired(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", cut_then_whole)

    result = await fuse(
        "Q?", panel=["vendor/a"], judge="vendor/judge", web=False, judge_method="json_schema"
    )

    assert result.status == "ok", result
    assert result.answer_truncated is False
    assert result.analysis is not None and "draft a" in (result.answer or "")
    # the refused cut-off call's 1,424 tokens are counted with the rest
    assert result.usage.completion_tokens == served_completion_tokens(llm_env)
    assert result.usage.completion_tokens >= 1424


async def test_a_cut_off_analysis_alone_is_asked_again_shorter(
    llm_env: ScriptedLLMServer,
) -> None:
    calls: list[str] = []

    def judge(request: ChatRequest) -> Text | Structured:
        responses = responses_in(request)
        if schema_fields(request):
            calls.append("analysis")
            if len(calls) == 1:
                return Text('{"consensus": ["a', completion_tokens=900, finish_reason="length")
            assert "cut off at the length limit" in request.text  # the repair says why
            return Structured(analysis_for(responses))
        return Text(answer_for(responses))

    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", judge)
    result = await fuse(
        "Q?",
        panel=["vendor/a"],
        judge="vendor/judge",
        web=False,
        judge_method="json_schema",
        judge_order="answer_first",
    )

    assert result.status == "ok", result
    assert calls == ["analysis", "analysis"]
    assert result.usage.completion_tokens == served_completion_tokens(llm_env)


async def test_the_served_api_says_length_when_the_answer_was_cut(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    llm_env.script("vendor/a", lambda r: Text("draft a"))
    llm_env.script("vendor/judge", cut_verdict)
    api = openai.AsyncOpenAI(base_url=fusion_server.base_url, api_key=SERVER_KEY, max_retries=0)
    options = {"fusion": {"panel": ["vendor/a"], "judge": "vendor/judge", "web": False}}
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Q?"}]

    whole = await api.chat.completions.create(model="fusion", messages=messages, extra_body=options)
    assert whole.choices[0].finish_reason == "length"
    assert whole.choices[0].message.content == CUT_ANSWER
    fusion = (whole.model_extra or {})["fusion"]
    assert fusion["answer_truncated"] is True and fusion["failure_reason"] == "judge_truncated"

    stream = await api.chat.completions.create(
        model="fusion", messages=messages, extra_body=options, stream=True
    )
    finishes = [c.choices[0].finish_reason async for c in stream if c.choices]
    assert finishes[-1] == "length"
    await api.close()


async def test_the_judges_failure_keeps_the_providers_message_without_the_key(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-or-v1-0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("FUSION_API_KEY", secret)
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script(
        "vendor/judge", lambda r: Error(400, f"context too long for key {secret}: 2362 > 2048")
    )

    result = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)

    assert result.status == "failed" and result.failure_reason == "judge_upstream_error"
    message = result.failure_message or ""
    assert "context too long" in message and "2362 > 2048" in message  # the provider's words
    assert secret not in message and "[redacted]" in message


async def test_judge_input_over_its_window_is_trimmed_and_the_run_is_ok(
    llm_env: ScriptedLLMServer,
) -> None:
    from fusion.core.windows import forget_windows

    forget_windows()
    llm_env.windows = {"vendor/judge": 4096}  # reported like vLLM's max_model_len
    long_draft = "A long, looping draft. " * 1500  # 34,500 characters, ~8,600 tokens
    llm_env.script("vendor/long", Text(long_draft))
    llm_env.script("vendor/short", Text("A short draft."))
    llm_env.script("vendor/judge", echo_judge)
    try:
        result = await fuse(
            "Q?", panel=["vendor/long", "vendor/short"], judge="vendor/judge", web=False
        )
    finally:
        forget_windows()

    assert result.status == "ok", result
    (request,) = llm_env.requests_for("vendor/judge")
    shown = responses_in(request)
    cut = [t for t in shown.values() if "cut to fit the judge's context window" in t]
    assert len(cut) == 1 and cut[0].startswith("A long, looping draft.")
    assert "A short draft." in shown.values()  # the short one is whole
    # what the judge was sent fits its window with room for its answer
    assert request.usage is not None and request.usage["prompt_tokens"] <= 4096 - 2048


FIRST_TRY = "A first try that brea"


def broken_then_whole(broken: str) -> Any:
    """A judge whose first verdict breaks, then answers whole: `retry` (a forced tool
    call's arguments with junk after the answer: not JSON, so the verdict is asked for
    again), `fallback` (json_schema content cut at the limit mid-answer: two calls
    follow), `before_answer` (arguments that break before the answer starts)."""
    first: list[ChatRequest] = []

    def handler(request: ChatRequest) -> Text | Structured | ToolCalls:
        analysis = json.dumps(analysis_for(responses_in(request)))
        if first or not is_verdict_request(request):
            return echo_judge(request)
        first.append(request)
        if broken == "fallback":
            text = analysis[:-1] + f', "answer": "{FIRST_TRY}'
            return Text(text, completion_tokens=1500, finish_reason="length")
        name = request.body["tool_choice"]["function"]["name"]
        answer = f', "answer": "{FIRST_TRY}"}}}}}}' if broken == "retry" else ', "ans}}'
        return ToolCalls([(name, {})], arguments_text=analysis[:-1] + answer)

    return handler


@pytest.mark.parametrize("broken", ["retry", "fallback", "before_answer"])
async def test_a_judge_asked_again_streams_a_coherent_answer(
    broken: str, fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    """A stream cannot take back the partial answer of a superseded attempt: a note
    says the answer below replaces it, and the new answer follows whole. With nothing
    sent yet, the new answer alone. A whole response holds only the final answer."""
    llm_env.script("vendor/a", lambda r: Text("draft a"))
    llm_env.script("vendor/judge", broken_then_whole(broken))
    method = "json_schema" if broken == "fallback" else "function_calling"
    fusion = {"panel": ["vendor/a"], "judge": "vendor/judge", "web": False}
    options = {"fusion": fusion | {"judge_method": method}}
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Q?"}]
    final = answer_for({"A": "draft a"})
    async with openai.AsyncOpenAI(
        base_url=fusion_server.base_url, api_key=SERVER_KEY, max_retries=0
    ) as api:
        stream = await api.chat.completions.create(
            model="fusion", messages=messages, extra_body=options, stream=True
        )
        chunks = [c async for c in stream]
        llm_env.script("vendor/judge", broken_then_whole(broken))
        whole = await api.chat.completions.create(
            model="fusion", messages=messages, extra_body=options
        )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(llm_env.requests_for("vendor/judge")) >= 2  # it was asked again
    if broken == "before_answer":
        assert text == final
    else:
        assert text == FIRST_TRY + RESTARTED + final
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["fusion"]["status"] == "ok"
    assert whole.choices[0].message.content == final

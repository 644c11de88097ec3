"""The judge's verdict in one streamed request: its analysis, then the answer.

The schema (`JudgeVerdict`) puts the analysis fields before `answer`, so the judge
reasons about agreement and disagreement before it writes, and the answer is the
last thing it streams; `judge_stream.VerdictStream` turns that stream into the
answer's Markdown tokens. A reply that is not usable is repaired once: a reply
whose answer is fine but whose analysis is not asks for the analysis alone (the
answer is kept); any other asks for the whole verdict again. A provider that
ignores the forced tool choice (llama.cpp's server) and writes prose instead is
reported as `tool_choice_ignored`, and the caller falls back to two calls.
"""

from __future__ import annotations

from typing import Final

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from fusion.core.context import JudgeMethod
from fusion.core.events import ANSWER_TAG, JudgeRetry, emit
from fusion.core.failures import refuses_tool_choice
from fusion.core.providers import chat_model
from fusion.core.settings import Settings
from fusion.core.usage import call_usage
from fusion.nodes import judge_prompts as prompts
from fusion.nodes.judge_analysis import analyse
from fusion.nodes.judge_binding import bind_schema
from fusion.nodes.judge_cutoff import is_cut, partial_verdict
from fusion.nodes.judge_outcome import (
    JudgeOutcome,
    as_plain_text,
    is_empty,
    json_in_text,
    read_json,
    record_error,
    repair_text,
)
from fusion.nodes.judge_schema import JudgeAnalysis, JudgeVerdict
from fusion.nodes.judge_stream import VerdictStream

TOOL_CHOICE_IGNORED: Final = "tool_choice_ignored"


async def single_call(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    outcome: JudgeOutcome,
    *,
    method: JudgeMethod,
    max_completion_tokens: int | None,
) -> None:
    """Fill `outcome` from one streamed verdict call (plus at most one repair call).
    Sets `outcome.fallback` when the provider cannot do it in one call."""
    llm = chat_model(
        model_id,
        settings,
        temperature=0,
        max_completion_tokens=max_completion_tokens,
        stream=True,
    )
    provider = bind_schema(llm, method, JudgeVerdict, responses=outcome.responses)
    conversation = list(messages)
    for attempt in range(2):
        if attempt:
            # tokens streamed by the first attempt, if any, are superseded
            emit(JudgeRetry(event="judge_retry", model=model_id, reason=outcome.failure_reason))
        stream = VerdictStream(provider=provider)
        try:
            reply = await stream.with_config(tags=[ANSWER_TAG]).ainvoke(conversation)
        except Exception as exc:
            record_error(outcome, exc)
            if outcome.failure_reason == "judge_truncated":  # the SDK refused a cut reply
                outcome.fallback = "judge_truncated"
            elif method == "function_calling" and refuses_tool_choice(exc):
                # llama.cpp without --jinja answers 400 to a named tool_choice: this was
                # the `judge_upstream_error` of such runs; json_schema works there
                outcome.fallback = TOOL_CHOICE_IGNORED
            return
        raw = stream.reply or AIMessage("")
        outcome.calls.append(call_usage(model_id, reply, settings))
        if is_cut(reply) or is_cut(raw):
            cut_json = stream.reader.json_text or "".join(
                str(call.get("args") or "") for call in raw.invalid_tool_calls[:1]
            )  # a whole (not streamed) reply's cut arguments are an invalid tool call
            kept = _keep_cut_verdict(cut_json, reply, outcome)
            if kept and outcome.analysis is None:
                await _repair_analysis(
                    model_id, messages, settings, outcome, method, cap=max_completion_tokens
                )
                outcome.failure_reason = "judge_truncated"  # the answer is still cut
            return
        payload = raw.tool_calls[0]["args"] if raw.tool_calls else json_in_text(raw.text)
        if payload is None and method == "function_calling" and raw.text.strip():
            outcome.fallback = TOOL_CHOICE_IGNORED
            outcome.message = "the provider answered in prose instead of the forced tool call"
            return
        if payload is None:
            outcome.failure_reason = (
                "judge_empty_completion" if is_empty(raw) else "judge_not_valid_json"
            )
            outcome.message = raw.text.strip()[:200] or "the judge returned nothing"
        else:
            verdict, reason, message = read_json(JudgeVerdict, payload)
            if verdict is not None and verdict.answer.strip():
                outcome.answer = AIMessage(verdict.answer, id=reply.id)
                outcome.analysis = JudgeAnalysis.model_validate(
                    verdict.model_dump(exclude={"answer"})
                )
                outcome.failure_reason, outcome.message = None, ""
                return
            answer = payload.get("answer") if isinstance(payload, dict) else None
            if isinstance(answer, str) and answer.strip():
                # The answer is usable: keep it, and repair the analysis alone.
                outcome.answer = AIMessage(answer, id=reply.id)
                outcome.failure_reason, outcome.message = reason, message
                await _repair_analysis(
                    model_id, messages, settings, outcome, method, cap=max_completion_tokens
                )
                return
            outcome.failure_reason = reason or "judge_empty_completion"
            outcome.message = message or "the verdict had an empty answer"
        repair = HumanMessage(repair_text(outcome.failure_reason))
        conversation = [*conversation, as_plain_text(raw), repair]


def _keep_cut_verdict(json_text: str, reply: AIMessage, outcome: JudgeOutcome) -> bool:
    """A verdict cut at the token limit: keep its answer so far (marked as cut) and its
    analysis if whole; with no answer at all, ask for two calls, each with its own
    limit. True when an answer was kept."""
    answer, analysis = partial_verdict(json_text)
    outcome.failure_reason = "judge_truncated"
    if not answer.strip():
        outcome.fallback = "judge_truncated"
        outcome.message = "the verdict was cut off at the token limit before its answer"
        return False
    outcome.answer = AIMessage(answer, id=reply.id)
    outcome.analysis = analysis
    outcome.truncated = True
    outcome.message = "the judge's answer was cut off at its token limit (finish_reason length)"
    return True


async def _repair_analysis(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    outcome: JudgeOutcome,
    method: JudgeMethod,
    *,
    cap: int | None,
) -> None:
    """The one repair of a verdict whose answer is kept: the analysis alone."""
    assert outcome.answer is not None
    analyst = chat_model(model_id, settings, temperature=0, max_completion_tokens=cap)
    conversation = [
        *messages,
        AIMessage(outcome.answer.text),
        HumanMessage(repair_text(outcome.failure_reason) + "\n\n" + prompts.ANALYSIS),
    ]
    outcome.analysis = await analyse(
        analyst, model_id, conversation, settings, method, outcome, repairs=0
    )

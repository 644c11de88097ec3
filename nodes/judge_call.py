"""One judge model's attempt, in two calls: the answer, streamed as plain text, then
the analysis as structured output.

Answer first keeps the time to the first answer token short and lets any client
show the answer as it is written (LangGraph `messages` mode, tag `fusion:answer`);
the analysis call continues the same conversation, so providers with prefix caching
bill its repeated drafts at the cached rate. An unusable analysis is asked for once
more with a repair instruction; the answer is kept either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.constants import TAG_NOSTREAM
from pydantic import ValidationError

from fusion.core.context import JudgeMethod
from fusion.core.events import ANSWER_TAG
from fusion.core.failures import JudgeFailure, classify, judge_failure
from fusion.core.providers import chat_model
from fusion.core.settings import Settings
from fusion.core.state import CallUsage
from fusion.core.usage import call_usage
from fusion.nodes import judge_prompts as prompts
from fusion.nodes.judge_schema import JudgeAnalysis

_PROBLEMS: dict[JudgeFailure, str] = {
    "judge_not_valid_json": "it was not valid JSON (or not the structured call)",
    "judge_schema_mismatch": "it did not match the required schema",
    "judge_empty_completion": "it was empty",
}


@dataclass
class JudgeOutcome:
    """The answer and analysis, or the reason one is missing; `calls` holds every
    paid call. An answer without an analysis keeps the reason the analysis failed."""

    answer: AIMessage | None = None
    analysis: JudgeAnalysis | None = None
    failure_reason: JudgeFailure | None = None
    message: str = ""
    calls: list[CallUsage] = field(default_factory=list)


async def run_judge(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    *,
    method: JudgeMethod,
    max_completion_tokens: int | None,
    answer: AIMessage | None = None,
) -> JudgeOutcome:
    """Ask one judge for the answer, then for its analysis of the responses. Given
    the `answer` (an earlier judge's), only the analysis is asked for."""
    outcome = JudgeOutcome(answer=answer)
    try:
        writer = chat_model(
            model_id,
            settings,
            temperature=0,
            max_completion_tokens=max_completion_tokens,
            stream=True,
        )
        analyst = chat_model(
            model_id, settings, temperature=0, max_completion_tokens=max_completion_tokens
        )
    except Exception as exc:
        outcome.failure_reason, outcome.message = "judge_upstream_error", str(exc)
        return outcome
    if outcome.answer is None:
        outcome.answer = await _write_answer(writer, model_id, messages, settings, outcome)
    if outcome.answer is not None:
        conversation = [*messages, AIMessage(outcome.answer.text), HumanMessage(prompts.ANALYSIS)]
        outcome.analysis = await _analyse(
            analyst, model_id, conversation, settings, method, outcome
        )
    return outcome


async def _write_answer(
    llm: ChatOpenAI,
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    outcome: JudgeOutcome,
) -> AIMessage | None:
    """The streamed answer, or None with the reason recorded in `outcome`."""
    try:
        reply = await llm.with_config(tags=[ANSWER_TAG]).ainvoke(messages)
    except Exception as exc:
        _record_error(outcome, exc)
        return None
    outcome.calls.append(call_usage(model_id, reply, settings))
    if not reply.text.strip():
        outcome.failure_reason = "judge_empty_completion"
        outcome.message = "the judge returned an empty answer"
        return None
    return reply


async def _analyse(
    llm: ChatOpenAI,
    model_id: str,
    conversation: list[BaseMessage],
    settings: Settings,
    method: JudgeMethod,
    outcome: JudgeOutcome,
) -> JudgeAnalysis | None:
    """The structured analysis (hidden from `messages` mode), with one repair retry."""
    # The class, not a cached dict: LangChain inlines its nested definitions, which
    # providers with weak JSON-schema support ($ref, $defs) need.
    structured = llm.with_structured_output(
        JudgeAnalysis, method=method, include_raw=True
    ).with_config(tags=[TAG_NOSTREAM])
    for _attempt in range(2):
        try:
            result: Any = await structured.ainvoke(conversation)
        except Exception as exc:
            _record_error(outcome, exc)
            return None
        raw = result["raw"]
        if isinstance(raw, AIMessage):
            outcome.calls.append(call_usage(model_id, raw, settings))
        analysis, reason, message = _read(result)
        if analysis is not None:
            outcome.failure_reason, outcome.message = None, ""
            return analysis
        outcome.failure_reason, outcome.message = reason, message
        if isinstance(raw, AIMessage):
            conversation = [*conversation, _without_tool_calls(raw), HumanMessage(_repair(reason))]
    return None


def _record_error(outcome: JudgeOutcome, exc: Exception) -> None:
    reason, message = classify(exc)
    outcome.failure_reason = judge_failure(reason)
    outcome.message = message


def _read(result: dict[str, Any]) -> tuple[JudgeAnalysis | None, JudgeFailure | None, str]:
    """The analysis, or the typed reason why the reply is unusable."""
    parsed = result.get("parsed")
    if isinstance(parsed, JudgeAnalysis):
        return parsed, None, ""
    error = result.get("parsing_error")
    raw = result.get("raw")
    if isinstance(error, ValidationError):
        return None, "judge_schema_mismatch", str(error).splitlines()[0]
    if not isinstance(raw, AIMessage):
        return None, "judge_not_valid_json", "no message"
    payload = _payload(raw)
    if payload is None:
        if not raw.text.strip() and not raw.tool_calls and not raw.invalid_tool_calls:
            return None, "judge_empty_completion", "the judge returned nothing"
        return None, "judge_not_valid_json", (raw.text.strip() or str(error))[:200]
    try:
        return JudgeAnalysis.model_validate(payload), None, ""
    except ValidationError as exc:
        return None, "judge_schema_mismatch", str(exc).splitlines()[0]


def _payload(raw: AIMessage) -> Any:
    """JSON the judge produced: tool-call arguments, else JSON in its text."""
    if raw.tool_calls:
        return raw.tool_calls[0]["args"]
    text = raw.text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None


def _without_tool_calls(raw: AIMessage) -> AIMessage:
    """The bad reply as plain text, so the repair turn needs no tool result."""
    text = raw.text or json.dumps([c["args"] for c in raw.tool_calls])
    return AIMessage(text or "(empty)")


def _repair(reason: JudgeFailure | None) -> str:
    problem = _PROBLEMS.get(reason, "") if reason else ""
    return prompts.REPAIR.format(problem=problem or "it could not be parsed")

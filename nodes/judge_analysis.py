"""The judge's analysis alone, as structured output, with one repair retry.

Used when the analysis is a call of its own: the answer-first order, the two-call
fallback, the repair of a verdict whose answer was fine, and a resumed or fallback
judge that only has to add the analysis to an answer that exists.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.constants import TAG_NOSTREAM

from fusion.core.context import JudgeMethod
from fusion.core.failures import JudgeFailure
from fusion.core.settings import Settings
from fusion.core.usage import call_usage
from fusion.nodes.judge_binding import bind_schema
from fusion.nodes.judge_cutoff import is_cut
from fusion.nodes.judge_outcome import (
    JudgeOutcome,
    as_plain_text,
    is_empty,
    payload_of,
    read_json,
    record_error,
    repair_text,
)
from fusion.nodes.judge_schema import JudgeAnalysis


async def analyse(
    llm: ChatOpenAI,
    model_id: str,
    conversation: list[BaseMessage],
    settings: Settings,
    method: JudgeMethod,
    outcome: JudgeOutcome,
    *,
    repairs: int = 1,
) -> JudgeAnalysis | None:
    """The structured analysis (hidden from `messages` mode), with `repairs` retries."""
    structured = bind_schema(llm, method, JudgeAnalysis, responses=outcome.responses).with_config(
        tags=[TAG_NOSTREAM]
    )
    for _attempt in range(repairs + 1):
        try:
            raw = await structured.ainvoke(conversation)
        except Exception as exc:
            record_error(outcome, exc)  # a cut reply: tokens counted, judge_truncated
            if outcome.failure_reason != "judge_truncated":
                return None
            conversation = [*conversation, HumanMessage(repair_text("judge_truncated"))]
            continue
        if not isinstance(raw, AIMessage):
            raw = AIMessage(raw.text)
        outcome.calls.append(call_usage(model_id, raw, settings))
        analysis, reason, message = _read(raw)
        if analysis is not None:
            outcome.failure_reason, outcome.message = None, ""
            return analysis
        outcome.failure_reason, outcome.message = reason, message
        conversation = [*conversation, as_plain_text(raw), HumanMessage(repair_text(reason))]
    return None


def _read(raw: AIMessage) -> tuple[JudgeAnalysis | None, JudgeFailure | None, str]:
    """The analysis, or the typed reason why the reply is unusable."""
    if is_cut(raw):
        return None, "judge_truncated", "the analysis was cut off at the token limit"
    payload = payload_of(raw)
    if payload is None:
        if is_empty(raw):
            return None, "judge_empty_completion", "the judge returned nothing"
        return None, "judge_not_valid_json", raw.text.strip()[:200]
    return read_json(JudgeAnalysis, payload)

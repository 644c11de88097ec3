"""One judge model's attempt: a structured-output call, one repair retry, and a
typed reason when it still fails."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import ValidationError

from fusion.graph.context import JudgeMethod
from fusion.graph.providers import chat_model
from fusion.graph.settings import Settings
from fusion.graph.state import CallUsage
from fusion.graph.usage import call_usage
from fusion.nodes import judge_prompts as prompts
from fusion.nodes.failures import classify
from fusion.nodes.judge_schema import JudgeVerdict

_PROBLEMS = {
    "judge_not_valid_json": "it was not valid JSON (or not the structured call)",
    "judge_schema_mismatch": "it did not match the required schema",
    "judge_empty_completion": "it was empty",
}


@dataclass
class JudgeOutcome:
    """A verdict, or the reason there is none; `calls` holds every paid call."""

    verdict: JudgeVerdict | None = None
    failure_reason: str | None = None
    message: str = ""
    calls: list[CallUsage] = field(default_factory=list)


async def run_judge(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    *,
    method: JudgeMethod,
    max_completion_tokens: int | None,
) -> JudgeOutcome:
    """Ask one judge; on unusable output, ask once more with a repair instruction."""
    outcome = JudgeOutcome()
    try:
        llm = chat_model(
            model_id, settings, temperature=0, max_completion_tokens=max_completion_tokens
        )
    except Exception as exc:
        outcome.failure_reason, outcome.message = "judge_upstream_error", str(exc)
        return outcome
    structured = llm.with_structured_output(JudgeVerdict, method=method, include_raw=True)
    conversation = list(messages)
    for _attempt in range(2):
        try:
            result: Any = await structured.ainvoke(conversation)
        except Exception as exc:
            reason, message = classify(exc)
            outcome.failure_reason = (
                reason
                if reason in ("rate_limited", "insufficient_credits")
                else "judge_upstream_error"
            )
            outcome.message = message
            return outcome
        raw = result["raw"]
        if isinstance(raw, AIMessage):
            outcome.calls.append(call_usage(model_id, raw, settings))
        verdict, reason, message = _read(result)
        if verdict is not None:
            outcome.verdict, outcome.failure_reason, outcome.message = verdict, None, ""
            return outcome
        outcome.failure_reason, outcome.message = reason, message
        if isinstance(raw, AIMessage):
            conversation += [_without_tool_calls(raw), HumanMessage(_repair(reason))]
    return outcome


def _read(result: dict[str, Any]) -> tuple[JudgeVerdict | None, str, str]:
    """The verdict, or the typed reason why the reply is unusable."""
    parsed = result.get("parsed")
    if isinstance(parsed, JudgeVerdict):
        return parsed, "", ""
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
        return JudgeVerdict.model_validate(payload), "", ""
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


def _repair(reason: str) -> str:
    return prompts.REPAIR.format(problem=_PROBLEMS.get(reason, "it could not be parsed"))

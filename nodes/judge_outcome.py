"""What one judge model delivered: the answer, the analysis, or the typed reason one
is missing, with every paid call; and the typed reading of a structured reply."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError

from fusion.core.context import JudgeMethod
from fusion.core.failures import JudgeFailure, JudgeFallbackReason, classify, judge_failure
from fusion.core.state import CallUsage, JudgeMode
from fusion.nodes import judge_prompts as prompts
from fusion.nodes.judge_cutoff import cut_off_usage
from fusion.nodes.judge_schema import JudgeAnalysis

PROBLEMS: dict[str, str] = {
    "judge_not_valid_json": "it was not valid JSON (or not the structured call)",
    "judge_schema_mismatch": "it did not match the required schema",
    "judge_empty_completion": "it was empty",
    "judge_truncated": "it was cut off at the length limit; keep it shorter",
}

Schema = TypeVar("Schema", bound=BaseModel)


@dataclass
class JudgeOutcome:
    """The answer and analysis, or the reason one is missing; `calls` holds every
    paid call. An answer without an analysis keeps the reason the analysis failed.
    `mode` is how the judge worked; `fallback` says why it left the single call."""

    answer: AIMessage | None = None
    analysis: JudgeAnalysis | None = None
    failure_reason: JudgeFailure | None = None
    message: str = ""
    calls: list[CallUsage] = field(default_factory=list)
    mode: JudgeMode | None = None
    method: JudgeMethod | None = None
    """How the judge was asked for structured output, in the end."""
    fallback: JudgeFallbackReason | None = None
    truncated: bool = False
    """The answer was cut at the judge's token limit (finish_reason `length`)."""
    responses: int = 8
    """How many drafts the judge reads: their letters bound a `json_schema`."""


def record_error(outcome: JudgeOutcome, exc: Exception) -> None:
    """A failed call as the judge's typed reason. A structured reply the SDK refused
    because it was cut at the token limit is `judge_truncated`, and its tokens count."""
    cut = cut_off_usage(exc)
    if cut is not None:
        outcome.calls.append(cut)
        outcome.failure_reason = "judge_truncated"
        outcome.message = (
            f"the structured reply was cut off at the token limit after "
            f"{cut['completion_tokens']} tokens (finish_reason length)"
        )
        return
    reason, message = classify(exc)
    outcome.failure_reason = judge_failure(reason)
    outcome.message = message


STRUCTURE_FAILURES = ("judge_not_valid_json", "judge_schema_mismatch", "judge_empty_completion")


def with_method_hint(message: str, reason: str | None, method: JudgeMethod | None) -> str:
    """`message`, plus how to ask this judge another way when its structured output was
    unusable or the provider refused how it was asked (a 400 about tools)."""
    refused = reason == "judge_upstream_error" and "tool" in message.lower()
    if method is None or not (reason in STRUCTURE_FAILURES or refused):
        return message
    others = " or ".join(
        f'"{m}"' for m in ("json_schema", "json_mode", "function_calling") if m != method
    )
    return (
        f"{message} (the judge was asked with judge_method {method}; set judge_method = "
        f"{others.split(' or ')[0]} on the model or its provider in the config file, or "
        f"pass --judge-method, to try {others})"
    ).lstrip()


def repair_text(reason: JudgeFailure | None) -> str:
    problem = PROBLEMS.get(reason, "") if reason else ""
    return prompts.REPAIR.format(problem=problem or "it could not be parsed")


def read_json(schema: type[Schema], payload: Any) -> tuple[Schema | None, JudgeFailure | None, str]:
    """`payload` (parsed JSON) as `schema`, or the typed reason it does not fit."""
    try:
        return schema.model_validate(payload), None, ""
    except ValidationError as exc:
        return None, "judge_schema_mismatch", str(exc).splitlines()[0]


def payload_of(raw: AIMessage) -> Any:
    """JSON the judge produced: tool-call arguments, else JSON in its text (None if
    there is none)."""
    if raw.tool_calls:
        return raw.tool_calls[0]["args"]
    return json_in_text(raw.text)


def json_in_text(text: str) -> Any:
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None


def is_empty(raw: AIMessage) -> bool:
    return not raw.text.strip() and not raw.tool_calls and not raw.invalid_tool_calls


def as_plain_text(raw: AIMessage) -> AIMessage:
    """A bad reply as plain text, so a repair turn needs no tool result."""
    text = raw.text or json.dumps([c["args"] for c in raw.tool_calls])
    return AIMessage(text or "(empty)")

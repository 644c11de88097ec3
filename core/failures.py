"""Why a model call or a run failed: one typed home for every failure reason.

The reasons are part of the public output (`failed_models[].reason`,
`failure_reason`, `panelist_failed.reason`), so scripts can branch on them. Each
reason is named once here, as a `Literal`; mypy checks every use, and the README's
list is tested against `MODEL_FAILURES` and `RUN_FAILURES`.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import openai
from langgraph.errors import NodeTimeoutError

from fusion.core.errors import ConfigError
from fusion.core.redact import redact

ModelFailure = Literal[
    "timeout",
    "rate_limited",
    "insufficient_credits",
    "unauthorized",
    "forbidden",
    "model_not_found",
    "bad_request",
    "upstream_error",
    "connection_error",
    "empty_completion",
    "config_error",
    "error",
]
"""Why one model (a panelist, or a judge's call) gave no usable output."""

PanelFailure = Literal["insufficient_panel", "all_panels_failed"]
"""Why the judge never ran: fewer drafts than the quorum (or none at all)."""

JudgeFailure = Literal[
    "judge_upstream_error",
    "judge_empty_completion",
    "judge_not_valid_json",
    "judge_schema_mismatch",
    "judge_truncated",
    "rate_limited",
    "insufficient_credits",
]
"""Why the judge's answer or analysis is missing. A judge that was rate limited or
out of credits keeps that reason, since the fix (wait, add credits) is the caller's.
`judge_truncated`: the answer was cut at the judge's token limit (kept, marked)."""

JudgeFallbackReason = Literal["tool_choice_ignored", "judge_truncated"]
"""Why the judge left its single call for two: a provider that ignores a forced tool
choice, or a verdict cut before its answer."""

RunFailure = PanelFailure | JudgeFailure
"""A run's `failure_reason`."""

MODEL_FAILURES: Final[frozenset[str]] = frozenset(get_args(ModelFailure))
PANEL_FAILURES: Final[frozenset[str]] = frozenset(get_args(PanelFailure))
JUDGE_FAILURES: Final[frozenset[str]] = frozenset(get_args(JudgeFailure))
RUN_FAILURES: Final[frozenset[str]] = PANEL_FAILURES | JUDGE_FAILURES

_BY_STATUS: dict[int, ModelFailure] = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "model_not_found",
    408: "timeout",
    429: "rate_limited",
}


def classify(error: BaseException) -> tuple[ModelFailure, str]:
    """(reason, message) for an exception raised while calling a model; the message
    never holds a key (a provider may echo the request's, see `core.redact`)."""
    reason, message = _classify(error)
    return reason, redact(message)


def _classify(error: BaseException) -> tuple[ModelFailure, str]:
    if isinstance(error, NodeTimeoutError | openai.APITimeoutError | TimeoutError):
        return "timeout", str(error) or "the call timed out"
    if isinstance(error, openai.APIStatusError):
        reason = _BY_STATUS.get(error.status_code)
        if reason is None:
            reason = "upstream_error" if error.status_code >= 500 else "bad_request"
        return reason, f"HTTP {error.status_code}: {_provider_message(error)}"
    if isinstance(error, openai.APIConnectionError):
        return "connection_error", str(error)
    if isinstance(error, ConfigError):
        return "config_error", str(error)
    return "error", f"{type(error).__name__}: {error}"


def judge_failure(reason: ModelFailure) -> JudgeFailure:
    """A failed judge call's run reason: kept when the fix is the caller's, else
    `judge_upstream_error`."""
    if reason == "rate_limited" or reason == "insufficient_credits":
        return reason
    return "judge_upstream_error"


def refuses_tool_choice(error: BaseException) -> bool:
    """A 400 that names the forced tool call (`tool_choice`, `tools`): the provider
    cannot do it (llama.cpp's server: "Wrong type supplied for parameter
    'tool_choice'"), so the judge asks through `response_format` instead."""
    if not isinstance(error, openai.BadRequestError):
        return False
    return "tool" in _provider_message(error).lower()


def is_panel_failure(reason: str | None) -> bool:
    """Whether a run failed before its judge (so a resume retries its panelists)."""
    return reason in PANEL_FAILURES


def _provider_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return error.message

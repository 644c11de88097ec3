"""A finished run in OpenAI terms: usage, the `fusion` metadata, or the error.

A failed run is an upstream failure (502, or 504 when it ran out of time); its
error body keeps the `fusion` metadata, so the drafts already paid for are not
lost, and names the command that continues the run.
"""

from __future__ import annotations

from typing import Literal

from fusion.core.failures import is_panel_failure
from fusion.result import FusionResult
from fusion.serve.errors import NO_RETRY, ApiError
from fusion.serve.public import public
from fusion.serve.schemas import CompletionUsage, FusionMetadata


def metadata(result: FusionResult) -> FusionMetadata:
    return FusionMetadata(
        status=result.status,
        analysis=result.analysis,
        responses=result.responses,
        failed_models=[
            f.model_copy(update={"message": public(f.message)}) for f in result.failed_models
        ],
        failure_reason=result.failure_reason,
        failure_message=public(result.failure_message) if result.failure_message else None,
        answer_truncated=result.answer_truncated,
        cost_usd=result.usage.cost_usd,
        cost_complete=result.usage.cost_complete,
        thread_id=result.thread_id,
    )


def finish_reason(result: FusionResult) -> Literal["stop", "length"]:
    """`length` when the judge's answer was cut at its token limit, as OpenAI says it."""
    return "length" if result.answer_truncated else "stop"


def usage(result: FusionResult) -> CompletionUsage:
    """Tokens over every call of the run: panelists, tool rounds and the judge."""
    u = result.usage
    return CompletionUsage(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.prompt_tokens + u.completion_tokens,
    )


def failure(result: FusionResult) -> ApiError:
    """The error for a run with no answer: which upstream failed, and how to resume."""
    reason = result.failure_reason or "no_answer"
    who = "; ".join(f"{f.model}: {f.reason} ({f.message})" for f in result.failed_models)
    if is_panel_failure(reason):
        message = f"the panel failed ({reason})" + (f": {who}" if who else "")
        timed_out = bool(result.failed_models) and all(
            f.reason == "timeout" for f in result.failed_models
        )
    else:
        message = f"the judge failed ({reason})" + (
            f": {public(result.failure_message)}" if result.failure_message else ""
        )
        message += "; the panel's drafts are in `fusion.responses`"
        timed_out = False  # a judge that timed out is `judge_upstream_error`
    if result.thread_id:
        message += f". Continue it with `fusion resume {result.thread_id}`"
    return ApiError(
        504 if timed_out else 502,
        message,
        code=reason,
        fusion=metadata(result),
        headers=NO_RETRY,
    )

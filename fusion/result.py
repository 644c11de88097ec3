"""`FusionResult`: the typed public result of a run, the shape of `fusion ask --json`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from fusion.core.analysis import Analysis, Contradiction, PartialCoverage, Stance, UniqueInsight
from fusion.core.failures import ModelFailure, RunFailure
from fusion.core.state import ResponseStatus, RunStatus

__all__ = [
    "Analysis",
    "Contradiction",
    "FailedModelOut",
    "FusionResult",
    "PartialCoverage",
    "ResponseOut",
    "SourceOut",
    "Stance",
    "UniqueInsight",
    "UsageOut",
]


class SourceOut(BaseModel):
    url: str
    title: str = ""
    via: Literal["search", "fetch"] = "search"


class UsageOut(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = Field(
        default=None, description="Dollars; None when no call had a known price."
    )
    cost_complete: bool = Field(default=True, description="False when some call's cost is unknown.")


class ResponseOut(BaseModel):
    """One panelist's outcome."""

    model: str
    status: ResponseStatus
    text: str
    sources: list[SourceOut] = Field(default_factory=list)
    usage: UsageOut = Field(default_factory=UsageOut)
    cost_usd: float | None = None
    seconds: float = 0.0
    tool_calls: int = 0
    tool_errors: list[str] = Field(default_factory=list)
    truncated: bool = Field(
        default=False, description="True when the draft was cut at its token limit."
    )


class FailedModelOut(BaseModel):
    model: str
    reason: ModelFailure
    message: str = ""


class FusionResult(BaseModel):
    """What a fused run produced; failed runs keep every paid draft in `responses`."""

    status: RunStatus
    answer: str | None = None
    analysis: Analysis | None = None
    responses: list[ResponseOut] = Field(default_factory=list)
    failed_models: list[FailedModelOut] = Field(default_factory=list)
    failure_reason: RunFailure | None = None
    failure_message: str | None = Field(
        default=None, description="Why, in the provider's own words (secrets redacted)."
    )
    answer_truncated: bool = Field(
        default=False, description="True when the answer was cut at the judge's token limit."
    )
    usage: UsageOut = Field(default_factory=UsageOut)
    thread_id: str | None = None
    judge_mode: Literal["single_call", "two_calls", "answer_first"] | None = Field(
        default=None,
        description="How the judge worked: single_call (analysis then answer in one "
        "streamed call), two_calls (the fallback: analysis, then answer) or answer_first.",
    )
    judge_method: Literal["function_calling", "json_schema", "json_mode"] | None = Field(
        default=None,
        description="How the judge was asked for structured output (`judge_method`): the "
        "run's choice, the config file's, else what the provider's server supports.",
    )
    rejudge_of: str | None = Field(
        default=None, description="The run whose drafts this run re-judged, if any."
    )

    @classmethod
    def from_state(cls, state: dict[str, Any], thread_id: str | None = None) -> FusionResult:
        """Build the public result from a graph's final (or last checkpointed) state."""
        return cls(
            status=state.get("status") or "failed",
            answer=state.get("answer"),
            analysis=state.get("analysis"),
            responses=state.get("responses") or [],
            failed_models=state.get("failed_models") or [],
            failure_reason=state.get("failure_reason"),
            failure_message=state.get("failure_message"),
            answer_truncated=bool(state.get("answer_truncated")),
            # a run interrupted before the judge has no total yet: its drafts' usage
            usage=state.get("usage") or _drafts_usage(state),
            thread_id=thread_id,
            judge_mode=state.get("judge_mode"),
            judge_method=state.get("judge_method"),
            rejudge_of=state.get("rejudge_of"),
        )


def _drafts_usage(state: dict[str, Any]) -> UsageOut:
    """What the drafts saved so far cost (nothing when there are none)."""
    from fusion.core.usage import merge_usages  # it loads the providers: only when needed

    usages = [r["usage"] for r in state.get("responses") or [] if r.get("usage")]
    return UsageOut(**merge_usages(usages)) if usages else UsageOut()

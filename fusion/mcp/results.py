"""What the MCP tools return as structured content: typed, and small enough for a
client model to read (the drafts themselves are in `get_run` and the run resource)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from fusion.catalog import StoredRun
from fusion.result import Analysis, FailedModelOut, FusionResult, UsageOut
from fusion.runs import question_of

__all__ = ["ModelOutcome", "PanelAnswer"]


class ModelOutcome(BaseModel):
    """One panelist: did it answer, and what did it cost."""

    model: str
    status: Literal["ok", "failed", "timeout"]
    cost_usd: float | None = Field(description="Dollars; null when the provider gave no price.")
    seconds: float
    tool_calls: int
    sources: int = Field(description="How many web sources the draft drew on.")


class PanelAnswer(BaseModel):
    """A panel run: the judged answer, its analysis, and what each model did."""

    thread_id: str = Field(description="The run's ID, for get_run, resume_run and rejudge_run.")
    question: str = Field(default="", description="The question the panel was asked.")
    status: Literal["ok", "degraded", "failed", "interrupted", "running"] = Field(
        description="ok; degraded (answered without some panelists); failed (no answer, "
        "resumable); interrupted (stopped mid-run, resumable); running (in the background, "
        "or by another runner now)."
    )
    answer: str | None = Field(default=None, description="The judge's answer, as Markdown.")
    analysis: Analysis | None = None
    models: list[ModelOutcome] = Field(default_factory=list)
    failed_models: list[FailedModelOut] = Field(default_factory=list)
    failure_reason: str | None = None
    usage: UsageOut = Field(default_factory=UsageOut)
    rejudge_of: str | None = Field(
        default=None, description="The run whose drafts this run re-judged (rejudge_run)."
    )

    @classmethod
    def of(cls, result: FusionResult, *, interrupted: bool = False) -> PanelAnswer:
        return cls(
            thread_id=result.thread_id or "",
            status="interrupted" if interrupted else result.status,
            answer=result.answer,
            analysis=result.analysis,
            models=[
                ModelOutcome(
                    model=r.model,
                    status=r.status,
                    cost_usd=r.cost_usd,
                    seconds=r.seconds,
                    tool_calls=r.tool_calls,
                    sources=len(r.sources),
                )
                for r in result.responses
            ],
            failed_models=result.failed_models,
            failure_reason=result.failure_reason,
            usage=result.usage,
            rejudge_of=result.rejudge_of,
        )

    @classmethod
    def of_state(cls, values: dict[str, Any], thread_id: str) -> PanelAnswer:
        """The answer of a run that just ended here, from its final state."""
        answer = cls.of(FusionResult.from_state(values, thread_id))
        answer.question = question_of(values)
        return answer

    @classmethod
    def stored(cls, run: StoredRun) -> PanelAnswer:
        answer = cls.of(run.result, interrupted=bool(run.pending))
        answer.question = run.question
        if run.state == "running":  # by another runner: a replica, the API, a CLI
            answer.status = "running"
        return answer

    def summary(self) -> str:
        """The text a client model reads first: the answer, or why there is none."""
        cost = "unknown" if self.usage.cost_usd is None else f"${self.usage.cost_usd:.4f}"
        head = f"[fusion run {self.thread_id}: {self.status}, cost {cost}]"
        if self.status == "running":
            return f"{head}\nThe panel is working; poll get_run with this thread_id."
        if self.answer:
            missing = ", ".join(f.model for f in self.failed_models)
            note = f"\n(answered without: {missing})" if missing else ""
            return f"{head}{note}\n\n{self.answer}"
        why = self.failure_reason or "interrupted"
        return f"{head}\nNo answer ({why}); continue it with resume_run(thread_id)."

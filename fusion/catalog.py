"""Runs as they are listed and read again: one path for the CLI, MCP and the web page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from fusion.graph.builder import build_graph
from fusion.lease import runner_of
from fusion.result import FusionResult
from fusion.runs import is_finished, run_config, run_question, saved_context, thread_ids
from fusion.saver import Saver

__all__ = ["RunState", "RunSummary", "StoredRun", "read_run", "run_state", "run_summaries"]

RunState = Literal["ok", "degraded", "failed", "interrupted", "running"]
"""A run's status as listed: its result's, or `interrupted` (resumable) until it has
one, or `running` while a live lease says some runner (a replica, `fusion serve`'s
API, a CLI, MCP) is at it now."""


class RunSummary(BaseModel):
    """One line of a run list."""

    thread_id: str
    status: RunState
    cost_usd: float | None = Field(description="Dollars spent; null when unknown.")
    question: str
    created_at: str | None = Field(description="When the run's last checkpoint was written.")


class StoredRun(BaseModel):
    """A run read back from the checkpointer."""

    question: str
    pending: list[str] = Field(description="Nodes still to run; empty once finished.")
    interrupted: bool = Field(
        default=False, description="True until the run has a status (it can be resumed)."
    )
    result: FusionResult
    running: str | None = Field(
        default=None, description="Who is running it now (its lease's holder), if anyone."
    )

    @property
    def state(self) -> RunState:
        if self.pending or self.interrupted:
            return "running" if self.running else "interrupted"
        return self.result.status


async def run_state(saver: Saver, thread_id: str, snapshot: Any, result: FusionResult) -> RunState:
    """The run's `RunState` (`result` is its snapshot's): a run with no status yet is
    `running` while its lease is live, else `interrupted`."""
    if is_finished(snapshot):
        return result.status
    return "running" if await runner_of(saver, thread_id) is not None else "interrupted"


async def _summary(saver: Saver, thread_id: str, snapshot: Any) -> RunSummary:
    values = snapshot.values
    result = FusionResult.from_state(values, thread_id)
    return RunSummary(
        thread_id=thread_id,
        status=await run_state(saver, thread_id, snapshot, result),
        cost_usd=result.usage.cost_usd,
        question=await run_question(saver, thread_id, values),
        created_at=snapshot.created_at,
    )


async def run_summaries(saver: Saver, limit: int | None) -> list[RunSummary]:
    """The most recent runs, newest first (all of them with `None`)."""
    graph = build_graph(checkpointer=saver)
    return [
        await _summary(saver, thread_id, await graph.aget_state(run_config(thread_id)))
        for thread_id in await thread_ids(saver, limit)
    ]


async def read_run(saver: Saver, thread_id: str) -> StoredRun:
    """A run's latest state; `ConfigError` naming the fix for an unknown ID."""
    await saved_context(saver, thread_id)
    snapshot = await build_graph(checkpointer=saver).aget_state(run_config(thread_id))
    finished = is_finished(snapshot)
    runner = None if finished else await runner_of(saver, thread_id)
    return StoredRun(
        question=await run_question(saver, thread_id, snapshot.values),
        pending=list(snapshot.next),
        interrupted=not finished,
        result=FusionResult.from_state(snapshot.values, thread_id),
        running=None if runner is None else str(runner),
    )

"""Runs as the page reads them, from the checkpointer the CLI and the API write.

Nothing is stored twice: a run is its checkpointed state, whoever started it
(`fusion ask`, `fuse()`, the OpenAI endpoint, MCP, this page). Lists come from
`fusion.catalog`; one run is read here with what its page shows beyond
`catalog.StoredRun` (panel, judge, the judge's cost, earlier turns), from the latest
checkpoint alone, so a long run opens fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from fusion.catalog import RunState, RunSummary, run_state, run_summaries
from fusion.core.errors import ConfigError
from fusion.graph.builder import build_graph
from fusion.result import FusionResult
from fusion.runs import run_config
from fusion.saver import Saver

HISTORY_LIMIT = 500


@dataclass
class Run:
    """One checkpointed run: its result and what the page shows around it."""

    thread_id: str
    question: str
    state: RunState
    result: FusionResult
    panel: list[str]
    judge: str
    created_at: str
    judge_cost_usd: float | None = None
    pending: list[str] = field(default_factory=list)
    earlier: list[tuple[str, str]] = field(default_factory=list)  # (role, text) before the question

    @property
    def can_rejudge(self) -> bool:
        """Its drafts are all in (only the judge may be left) and nobody runs it now."""
        return self.state != "running" and all(node == "judge" for node in self.pending)


async def load_run(saver: Saver, thread_id: str) -> Run:
    """The run's latest state; `ConfigError` when the checkpointer has no such run."""
    snapshot = await build_graph(checkpointer=saver).aget_state(run_config(thread_id))
    values: dict[str, Any] = snapshot.values or {}
    if not values:
        raise ConfigError(f"no run {thread_id!r} in this server's checkpoint database")
    result = FusionResult.from_state(values, thread_id)
    pending = list(snapshot.next)
    return Run(
        thread_id=thread_id,
        question=str(values.get("question") or ""),
        state=await run_state(saver, thread_id, snapshot, result),
        result=result,
        panel=list(values.get("panel") or []),
        judge=str(values.get("judge_model") or ""),
        created_at=snapshot.created_at or "",
        judge_cost_usd=_judge_cost(values.get("judge_calls") or []),
        pending=pending,
        earlier=_earlier_turns(values.get("messages") or [], result.answer),
    )


async def list_runs(saver: Saver, query: str = "", limit: int = HISTORY_LIMIT) -> list[RunSummary]:
    """Recent runs, newest first (`fusion.catalog`, as `fusion runs` and MCP list them);
    `query` keeps those whose question or thread ID holds it."""
    needle = query.strip().casefold()
    return [
        run
        for run in await run_summaries(saver, limit)
        if not needle or needle in run.question.casefold() or needle in run.thread_id
    ]


def conversation(run: Run) -> list[BaseMessage]:
    """The run's conversation with its answer, for a follow-up question."""
    turns: list[BaseMessage] = []
    for role, text in run.earlier:
        turns.append(HumanMessage(text) if role == "user" else AIMessage(text))
    turns.append(HumanMessage(run.question))
    if run.result.answer:
        turns.append(AIMessage(run.result.answer))
    return turns


def _earlier_turns(messages: list[Any], answer: str | None) -> list[tuple[str, str]]:
    """The turns before the question: drop the answer the run appended, and the question."""
    turns = [m for m in messages if isinstance(m, HumanMessage | AIMessage)]
    if turns and isinstance(turns[-1], AIMessage) and answer and turns[-1].text == answer:
        turns = turns[:-1]
    if turns and isinstance(turns[-1], HumanMessage):
        turns = turns[:-1]
    return [("user" if isinstance(m, HumanMessage) else "assistant", m.text) for m in turns]


def _judge_cost(calls: list[dict[str, Any]]) -> float | None:
    costs = [c.get("cost_usd") for c in calls]
    known = [c for c in costs if c is not None]
    return sum(known) if known else None

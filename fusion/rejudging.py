"""Re-judge a stored run's drafts: a new run, only its judge called.

`fusion rejudge THREAD_ID`, `await fusion.rejudge(...)`, MCP `rejudge_run`, the web
page's Re-judge button and `fusion eval`'s `rejudge:` configs all come through here.

The new run gets its own thread. Its first checkpoint is the source's input (so
`fusion runs`, `show` and `resume` treat it like any run, with its own `Context` in
the metadata); its second copies the source's drafts as if `join` had just written
them, so the graph goes straight to the judge. The source's checkpoints are only
read. The new run's `usage` is what it paid (the judge's calls); each copied draft
keeps its own usage, and `rejudge_of` names the source.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.types import Checkpointer

from fusion.core.context import Context, JudgeOrder
from fusion.core.errors import ConfigError
from fusion.core.plan import RunPlan, resolve_plan
from fusion.core.providers import check_credentials
from fusion.core.settings import load_settings_async
from fusion.graph.builder import build_graph
from fusion.nodes.join import drafts_of
from fusion.result import FusionResult
from fusion.runs import REJUDGE_KEY, resolve_thread_id, run_config, saved_context
from fusion.saver import Saver

__all__ = ["Rejudging", "prepare_rejudge", "rejudge", "start_rejudge"]

JOIN_NODE = "join"


@dataclass(frozen=True)
class Rejudging:
    """A re-judge ready to start: the new run's context, plan and input, and the
    state it starts from (the source's drafts)."""

    source: str
    thread_id: str
    context: Context
    plan: RunPlan
    payload: dict[str, Any]
    copied: dict[str, Any]


async def prepare_rejudge(
    saver: Saver,
    thread_id: str,
    *,
    judge: str | None = None,
    fallback_judge: str | None = None,
    instructions: str | None = None,
    judge_order: JudgeOrder | None = None,
    new_thread_id: str | None = None,
) -> Rejudging:
    """Check the source run can be re-judged and plan the new run; nothing is written.
    The new run's thread is `new_thread_id` (`fusion eval` names its runs), else fresh.

    Raises `ConfigError` (an unknown thread, a run with no drafts or still in its
    panel, a bad option, a missing key) before any model call."""
    source = await resolve_thread_id(saver, thread_id)
    context = await saved_context(saver, source)
    overrides: dict[str, Any] = {
        "judge": judge,
        "fallback_judge": fallback_judge,
        "instructions": instructions,
        "judge_order": judge_order,
    }
    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if judge is not None and fallback_judge is None:
        given["fallback_judge"] = None  # the source's fallback backed up another judge
    new_context = dataclasses.replace(context, **given)  # checks each value
    snapshot = await build_graph(checkpointer=saver).aget_state(run_config(source))
    values: dict[str, Any] = dict(snapshot.values or {})
    pending = [n for n in snapshot.next if n != "judge"]
    if pending:
        raise ConfigError(
            f"run {source} has not finished its panel (next: {', '.join(pending)}): "
            f"finish it with `fusion resume {source}`, then re-judge it"
        )
    drafts = drafts_of(values)  # type: ignore[arg-type]
    if not drafts:
        why = values.get("failure_reason") or "no panelist answered"
        raise ConfigError(
            f"run {source} has no draft to judge ({why}): "
            f"`fusion resume {source}` retries its panelists"
        )
    settings = await load_settings_async()
    plan = resolve_plan(new_context, settings)
    check_credentials([m for m in (plan.judge, plan.fallback_judge) if m], settings)
    copied: dict[str, Any] = {
        "question": values.get("question") or "",
        "panel": list(values.get("panel") or plan.panel),
        "judge_model": plan.judge,
        "responses": list(values.get("responses") or []),
        "failed_models": list(values.get("failed_models") or []),
        "deadline_s": values.get("deadline_s"),
        "rerun": [],
        "rejudge_of": source,
    }
    payload = _input_of(values)
    # the input checkpoint keeps it for readers; the judge reads it from state
    copied.update(payload)
    new_id = new_thread_id or str(uuid.uuid4())
    return Rejudging(source, new_id, new_context, plan, payload, copied)


def _input_of(values: dict[str, Any]) -> dict[str, Any]:
    """The source's input: its prompt, or its conversation up to the question (without
    the answer the source's judge added)."""
    payload: dict[str, Any] = {}
    if values.get("prompt"):
        payload["prompt"] = values["prompt"]
    messages: list[BaseMessage] = list(values.get("messages") or [])
    while messages and not isinstance(messages[-1], HumanMessage):
        messages.pop()
    if messages:
        payload["messages"] = messages
    if not payload:
        payload["prompt"] = values.get("question") or ""
    return payload


async def start_rejudge(saver: Checkpointer, rejudging: Rejudging) -> None:
    """Write the new run's first checkpoints: its input, then the copied drafts as
    `join`'s output, so the run's next (and only) step is the judge. Killed after
    this, `fusion resume` of the new thread judges; killed between the two, its input
    says it is a re-judge, and `fusion resume` refuses rather than call the panel."""
    await register_rejudge(saver, rejudging)
    graph = build_graph(checkpointer=saver)
    await graph.aupdate_state(run_config(rejudging.thread_id), rejudging.copied, as_node=JOIN_NODE)


async def register_rejudge(saver: Checkpointer, rejudging: Rejudging) -> None:
    """The new run's input checkpoint, with its context and its source in metadata."""
    from fusion.api import AS_INPUT

    config = run_config(rejudging.thread_id, rejudging.context)
    config["metadata"] = {**config.get("metadata", {}), REJUDGE_KEY: rejudging.source}
    await build_graph(checkpointer=saver).aupdate_state(config, rejudging.payload, as_node=AS_INPUT)


RUNNER = "fusion rejudge"
"""Who runs a re-judge, as a refused second runner is told (`fusion.lease`)."""


async def stream_rejudge(
    saver: Checkpointer, rejudging: Rejudging, *, progress: bool = True
) -> AsyncIterator[tuple[str, Any]]:
    """Start the re-judge and yield its events, like `fusion.api.stream_run`."""
    from fusion.api import stream_run

    await start_rejudge(saver, rejudging)
    async for part in stream_run(
        None, rejudging.context, saver, rejudging.thread_id, progress=progress, runner=RUNNER
    ):
        yield part


async def rejudge(
    thread_id: str,
    *,
    judge: str | None = None,
    fallback_judge: str | None = None,
    instructions: str | None = None,
    judge_order: Literal["analysis_first", "answer_first"] | None = None,
    db: str | None = None,
    checkpointer: Saver | None = None,
) -> FusionResult:
    """Judge a stored run's drafts again, without calling any panelist.

    The result is a new run (its own `thread_id`, `rejudge_of` naming the source);
    the source run is not changed. Works on a finished run and on one whose judge
    failed. Options not given keep the source run's. The runs are read from and
    written to `checkpointer`, else the database `db` (else `FUSION_DB`, else the
    default path). Raises `ConfigError` before any model call on bad input."""
    if checkpointer is not None:
        return await _rejudge_in(
            checkpointer, thread_id, judge, fallback_judge, instructions, judge_order
        )
    from fusion.runs import db_path, open_checkpointer

    async with open_checkpointer(db_path(db)) as saver:
        return await _rejudge_in(saver, thread_id, judge, fallback_judge, instructions, judge_order)


async def _rejudge_in(
    saver: Saver,
    thread_id: str,
    judge: str | None,
    fallback_judge: str | None,
    instructions: str | None,
    judge_order: JudgeOrder | None,
) -> FusionResult:
    from fusion.api import collect

    rejudging = await prepare_rejudge(
        saver,
        thread_id,
        judge=judge,
        fallback_judge=fallback_judge,
        instructions=instructions,
        judge_order=judge_order,
    )
    events = stream_rejudge(saver, rejudging, progress=False)
    return await collect(events, rejudging.thread_id)

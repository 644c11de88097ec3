"""The Python API: `await fuse(prompt, ...)` runs one fused answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.messages import BaseMessage
from langgraph.types import Checkpointer, Durability, StreamMode

from fusion.core.context import Context
from fusion.core.context import make_context as make_context  # its public home here
from fusion.core.plan import RunPlan
from fusion.core.state import InputState
from fusion.result import FusionResult

if TYPE_CHECKING:
    from fusion.lease import RunLease


def preflight(context: Context, prompt: str | None, messages: list[Any] | None = None) -> RunPlan:
    """Every check that can fail before a model is called: input, plan, budget, keys."""
    from fusion.nodes.fan_out import check_run

    plan, _ = check_run(context, cast(InputState, run_input(prompt, messages)))
    return plan


def run_input(prompt: str | None, messages: list[BaseMessage] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if prompt:
        payload["prompt"] = prompt
    if messages:
        payload["messages"] = messages
    return payload


async def fuse(
    prompt: str | None = None,
    *,
    messages: list[BaseMessage] | None = None,
    preset: str | None = None,
    panel: list[str] | None = None,
    judge: str | None = None,
    checkpointer: Checkpointer | Literal[False] = None,
    db: str | None = None,
    thread_id: str | None = None,
    **options: Any,
) -> FusionResult:
    """Fuse one answer from a panel. Options are `Context` fields (`web=False`,
    `max_tool_calls=4`, `deadline_s=30`, ...). Raises `ConfigError` on bad input
    before any model is called.

    The run is checkpointed in the SQLite database (`db`, else `FUSION_DB`, else the
    default path) unless a `checkpointer` is given, or `checkpointer=False`."""
    context = make_context(preset=preset, panel=panel, judge=judge, **options)
    preflight(context, prompt, messages)
    thread_id = thread_id or str(uuid.uuid4())
    payload = run_input(prompt, messages)
    if checkpointer is None:
        from fusion.runs import db_path, open_checkpointer

        async with open_checkpointer(db_path(db)) as saver:
            return await collect(
                stream_run(payload, context, saver, thread_id, progress=False), thread_id
            )
    given = None if checkpointer is False else checkpointer
    return await collect(stream_run(payload, context, given, thread_id, progress=False), thread_id)


async def collect(events: AsyncIterator[tuple[str, Any]], thread_id: str) -> FusionResult:
    """Drain a run's events and return its result."""
    final: dict[str, Any] = {}
    async for kind, data in events:
        if kind == "values":
            final = data
    return FusionResult.from_state(final, thread_id)


DURABILITY: Durability = "sync"
"""Each step's checkpoint is on disk before the next step starts. LangGraph's default,
"async", lets a step (and its model calls and progress events) run ahead of the
previous checkpoint, so a run killed early could be left unresumable. The cost is one
SQLite commit waited for per step (see the README's resume section)."""


AS_INPUT = "__input__"
"""`update_state`'s name for "the run's input": it writes the same step -1 checkpoint
(source "input") that `astream(payload)` would, so every reader sees a normal run."""


async def register_run(
    checkpointer: Checkpointer, payload: dict[str, Any], context: Context, thread_id: str
) -> None:
    """Save the run's input and context as its first checkpoint, before any model call,
    so a run killed at any moment after this (`thread:` is printed after it) can be
    resumed: `stream_run(None, ...)` continues from it."""
    from fusion.graph.builder import build_graph
    from fusion.runs import run_config

    graph = build_graph(checkpointer=checkpointer)
    await graph.aupdate_state(run_config(thread_id, context), payload, as_node=AS_INPUT)


async def stream_run(
    payload: dict[str, Any] | None,
    context: Context,
    checkpointer: Checkpointer,
    thread_id: str,
    *,
    progress: bool = True,
    lease: RunLease | None = None,
    runner: str = "fusion.fuse()",
) -> AsyncIterator[tuple[str, Any]]:
    """Run (or, with `payload=None`, resume) the graph, yielding `("custom", event)`
    progress, `("answer", text)` for each chunk of the judge's answer as it is
    written, and `("values", state)` snapshots of the top-level state.

    With `progress=False` only the snapshots come: no stream handlers ride on every
    node and token (a few ms a run), and the judge's answer is one whole reply.

    The run holds its lease (`fusion.lease`) throughout: `lease` if the caller took it
    (to refuse before answering), else one taken here for `runner`, which raises
    `RunBusy` if another runner holds the run. Either is released when the run ends."""
    from fusion.lease import take_lease

    if lease is None and checkpointer is not None:
        lease = await take_lease(checkpointer, thread_id, runner)
    if lease is None:
        async for item in _stream(payload, context, checkpointer, thread_id, progress):
            yield item
        return
    task = asyncio.current_task()
    if task is not None:
        lease.on_lost(lambda: task.cancel())
    try:
        async for item in _stream(payload, context, checkpointer, thread_id, progress):
            yield item
    except asyncio.CancelledError:
        if lease.lost is not None:
            raise lease.lost_error() from None
        raise
    finally:
        await lease.release()


async def _stream(
    payload: dict[str, Any] | None,
    context: Context,
    checkpointer: Checkpointer,
    thread_id: str,
    progress: bool,
) -> AsyncIterator[tuple[str, Any]]:
    from fusion.core.events import ANSWER_TAG
    from fusion.graph.builder import build_graph
    from fusion.runs import run_config

    graph = build_graph(checkpointer=checkpointer)
    config = run_config(thread_id, context if payload is not None else None)
    if payload is not None and checkpointer is not None:
        await register_run(checkpointer, payload, context, thread_id)
        payload = None
    modes: list[StreamMode] = ["custom", "messages", "values"] if progress else ["values"]
    stream = graph.astream(
        cast(InputState | None, payload),
        config,
        context=context,
        stream_mode=modes,
        subgraphs=progress,
        # (no checkpointer: nothing to wait for; LangGraph 1.2 fails on "sync" then)
        durability=DURABILITY if checkpointer is not None else None,
    )
    async for part in stream:
        namespace, mode, data = part if progress else ((), *part)
        if mode == "custom":
            yield "custom", data
        elif mode == "messages":
            chunk, metadata = cast(tuple[BaseMessage, dict[str, Any]], data)
            if ANSWER_TAG in (metadata.get("tags") or []) and chunk.text:
                yield "answer", chunk.text
        elif mode == "values" and not namespace:
            yield "values", data

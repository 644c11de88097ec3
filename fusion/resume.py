"""Continue a checkpointed run: one path for `fusion resume`, MCP and the web page.

A run interrupted mid-way continues from its checkpoint; a finished run that failed
is reopened first (`reopen_failed_run`: only its failed panelists, or only its judge,
are called again). A finished run with nothing to retry is returned as it is.
Provider URLs and keys come from the current environment, never the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.core.plan import RunPlan, resolve_plan
from fusion.core.providers import check_credentials
from fusion.core.settings import load_settings_async
from fusion.graph.builder import build_graph
from fusion.runs import (
    is_finished,
    reopen_failed_run,
    run_config,
    saved_context,
    unstarted_rejudge,
)
from fusion.saver import Saver

__all__ = ["Resumption", "prepare_resume"]


@dataclass(frozen=True)
class Resumption:
    """What resuming a run will do."""

    context: Context
    plan: RunPlan | None
    """The run's plan, or None when there is nothing left to run."""
    retrying: str = ""
    """What a reopened failed run retries ("panelists a, b", "the judge"), else ""."""
    finished: dict[str, Any] | None = None
    """The final state of a run with nothing left to do."""


async def prepare_resume(saver: Saver, thread_id: str) -> Resumption:
    """Check a run can continue (known ID, keys present) and reopen it if it failed.

    Raises `ConfigError` for an unknown thread or a missing key, before any model call.
    """
    context = await saved_context(saver, thread_id)
    graph = build_graph(checkpointer=saver)
    config = run_config(thread_id)
    snapshot = await graph.aget_state(config)
    source = await unstarted_rejudge(saver, thread_id, dict(snapshot.values or {}))
    if source:
        raise ConfigError(
            f"run {thread_id} was stopped while it started to re-judge {source}, before "
            f"any call: re-judge it again with `fusion rejudge {source}`"
        )
    retrying = ""
    if is_finished(snapshot):  # a run killed before its first step has no next, no status
        retrying = await reopen_failed_run(graph, config, snapshot.values)
        if not retrying:
            return Resumption(context, None, finished=dict(snapshot.values))
    settings = await load_settings_async()
    plan = resolve_plan(context, settings)
    check_credentials(plan.models, settings)
    return Resumption(context, plan, retrying)

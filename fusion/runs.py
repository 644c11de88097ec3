"""Where runs are checkpointed, and how a run is found again.

Every CLI and `fuse()` run is checkpointed in one database (`FUSION_DB`: a SQLite
file, or a `postgresql://` URL; else `~/.local/share/fusion/runs.sqlite`). The run's
`Context` (models and options, never a key) rides in the checkpoint metadata, so
`fusion resume` can rebuild it; provider URLs and keys always come from the current
environment.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Overwrite

from fusion.core.context import Context, context_from
from fusion.core.errors import ConfigError
from fusion.core.failures import is_panel_failure
from fusion.saver import Saver, is_postgres, open_checkpointer, saver_target

CONTEXT_KEY = "fusion_context"
REJUDGE_KEY = "fusion_rejudge_of"
"""Metadata of a re-judge's input checkpoint: the run whose drafts it judges."""

__all__ = [
    "db_path",
    "is_finished",
    "open_checkpointer",
    "question_of",
    "reopen_failed_run",
    "resolve_thread_id",
    "run_config",
    "saved_context",
    "saver_path",
    "thread_ids",
]


def db_path(explicit: str | None = None) -> str | Path:
    """The checkpoint database: `--db`, else `FUSION_DB`, else the per-user default.
    A `postgresql://` URL stays a string; anything else is a SQLite file's path."""
    given = explicit or os.environ.get("FUSION_DB")
    if given:
        return given if is_postgres(given) else Path(given).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or "~/.local/share").expanduser()
    return data_home / "fusion" / "runs.sqlite"


def run_config(thread_id: str, context: Context | None = None) -> RunnableConfig:
    """The config of a run on `thread_id`; the context is kept in checkpoint metadata."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    if context is not None:
        # a JSON string: checkpoint metadata keeps only primitive values
        config["metadata"] = {CONTEXT_KEY: json.dumps(dataclasses.asdict(context))}
    return config


async def saved_context(saver: Saver, thread_id: str) -> Context:
    """The `Context` a run was started with, from its first checkpoint's metadata."""
    found: dict[str, Any] | None = None
    async for checkpoint in saver.alist(run_config(thread_id)):
        stored = (checkpoint.metadata or {}).get(CONTEXT_KEY)
        if isinstance(stored, str):
            found = json.loads(stored)
    if found is None:
        raise ConfigError(
            f"no run {thread_id!r} in {saver_path(saver)}: check the ID with `fusion runs` "
            "(or the --db / FUSION_DB it ran with)"
        )
    return context_from(found)


async def unstarted_rejudge(saver: Saver, thread_id: str, values: dict[str, Any]) -> str:
    """The source of a re-judge killed before its drafts were copied (its input says
    it is one, its state has no `rejudge_of`), else "": resuming it would call the panel."""
    if values.get("rejudge_of"):
        return ""
    async for checkpoint in saver.alist(run_config(thread_id), filter={"source": "input"}):
        source = (checkpoint.metadata or {}).get(REJUDGE_KEY)
        if isinstance(source, str):
            return source
    return ""


async def thread_ids(saver: Saver, limit: int | None) -> list[str]:
    """The most recently started runs' thread IDs, newest first (all with `None`).

    Read through the checkpointer's public `alist`, so it works on every backend: a
    run's first top-level checkpoint is its only one with source "input" (subgraphs'
    have a namespace). Checkpoint IDs grow with time, so pages come newest first."""
    found: list[str] = []
    seen: set[str] = set()
    before: RunnableConfig | None = None
    while limit is None or len(found) < limit:
        listed = saver.alist(None, filter={"source": "input"}, before=before, limit=LIST_PAGE)
        page = [checkpoint async for checkpoint in listed]
        for checkpoint in page:
            configurable = checkpoint.config["configurable"]
            thread_id = str(configurable["thread_id"])
            if configurable.get("checkpoint_ns") or thread_id in seen:
                continue
            seen.add(thread_id)
            found.append(thread_id)
        if len(page) < LIST_PAGE:
            break
        before = page[-1].config
    return found if limit is None else found[:limit]


LIST_PAGE = 200


async def resolve_thread_id(saver: Saver, given: str) -> str:
    """The whole thread ID of the run `given` names: its whole ID, or any prefix that
    only one run's ID starts with (as `fusion show`, `resume` and `rejudge` accept).

    Raises `ConfigError` (one line) for an empty or unknown ID, and for an ambiguous
    prefix, listing the IDs it matches."""
    wanted = given.strip()
    if not wanted:
        raise ConfigError("the thread ID is empty: copy one from `fusion runs`")
    if await saver.aget_tuple(run_config(wanted)) is not None:
        return wanted
    matches = [t for t in await thread_ids(saver, None) if t.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"no run {wanted!r} in {saver_path(saver)}: check the ID with `fusion runs` "
            "(or the --db / FUSION_DB it ran with)"
        )
    shown = ", ".join(matches[:AMBIGUOUS_SHOWN])
    more = len(matches) - AMBIGUOUS_SHOWN
    shown += f" and {more} more" if more > 0 else ""
    raise ConfigError(
        f"thread ID prefix {wanted!r} matches {len(matches)} runs ({shown}): give more of the ID"
    )


AMBIGUOUS_SHOWN = 5


def is_finished(snapshot: Any) -> bool:
    """Whether a run ended (with any status). A run killed before its first step was
    saved can show no next node yet has no status: it is interrupted, not done."""
    return not snapshot.next and bool((snapshot.values or {}).get("status"))


def question_of(values: dict[str, Any]) -> str:
    """The run's question, also before `fan_out` has read it from the input."""
    if values.get("question"):
        return str(values["question"])
    if values.get("prompt"):
        return str(values["prompt"])
    humans = [
        m
        for m in values.get("messages") or []
        if getattr(m, "type", "") == "human" or (isinstance(m, tuple) and m[0] == "user")
    ]
    if not humans:
        return ""
    last = humans[-1]
    return str(last[1]) if isinstance(last, tuple) else str(last.text)


async def run_question(saver: Saver, thread_id: str, values: dict[str, Any]) -> str:
    """`question_of`, or for a run killed before its first step, its saved input (in
    its input checkpoint, as a value or a pending write of the `__start__` channel)."""
    found = question_of(values)
    if found:
        return found
    saved = await saver.aget_tuple(run_config(thread_id))
    if saved is None:
        return ""
    inputs = [saved.checkpoint["channel_values"].get("__start__")]
    inputs += [
        value for _task, channel, value in saved.pending_writes or [] if channel == "__start__"
    ]
    for value in inputs:
        if isinstance(value, dict) and question_of(value):
            return question_of(value)
    return ""


async def reopen_failed_run(graph: Any, config: RunnableConfig, values: dict[str, Any]) -> str:
    """Make a finished, failed run resumable: what it will retry, or "" if nothing.

    A run short of its quorum retries its failed panelists (keeping every paid draft);
    a run whose judge failed retries the judge on the same drafts; a run whose judge
    answered but gave no usable analysis asks for the analysis alone.
    """
    reason = values.get("failure_reason")
    if not reason:
        return ""
    if values.get("status") == "degraded" and values.get("analysis") is None:
        await graph.aupdate_state(config, {"failure_reason": None}, as_node="join")
        return "the judge's analysis"
    if values.get("status") != "failed":
        return ""
    if is_panel_failure(reason):
        failed = [f["model"] for f in values.get("failed_models") or []]
        kept = [r for r in values.get("responses") or [] if r["status"] == "ok"]
        update = {
            "responses": Overwrite(kept),
            "failed_models": Overwrite([]),
            "failure_reason": None,
            "rerun": failed,
        }
        await graph.aupdate_state(config, update, as_node="fan_out")
        return "panelists " + ", ".join(failed)
    await graph.aupdate_state(config, {"failure_reason": None}, as_node="join")
    return "the judge"


def saver_path(saver: Saver) -> str:
    """Where `saver` keeps its checkpoints, for messages (a URL without password)."""
    return saver_target(saver)

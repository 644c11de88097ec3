"""Where runs are checkpointed, and how a run is found again.

Every CLI and `fuse()` run is checkpointed in one SQLite file (`FUSION_DB`, else
`~/.local/share/fusion/runs.sqlite`). The run's `Context` (models and options,
never a key) rides in the checkpoint metadata, so `fusion resume` can rebuild it;
provider URLs and keys always come from the current environment.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Overwrite

from fusion.core.context import Context, context_from
from fusion.core.errors import ConfigError
from fusion.saver import open_checkpointer

CONTEXT_KEY = "fusion_context"

__all__ = [
    "db_path",
    "open_checkpointer",
    "reopen_failed_run",
    "run_config",
    "saved_context",
    "saver_path",
    "thread_ids",
]


def db_path(explicit: str | None = None) -> Path:
    """The checkpoint database: `--db`, else `FUSION_DB`, else the per-user default."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("FUSION_DB"):
        return Path(os.environ["FUSION_DB"]).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or "~/.local/share").expanduser()
    return data_home / "fusion" / "runs.sqlite"


def run_config(thread_id: str, context: Context | None = None) -> RunnableConfig:
    """The config of a run on `thread_id`; the context is kept in checkpoint metadata."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    if context is not None:
        # a JSON string: checkpoint metadata keeps only primitive values
        config["metadata"] = {CONTEXT_KEY: json.dumps(dataclasses.asdict(context))}
    return config


async def saved_context(saver: AsyncSqliteSaver, thread_id: str) -> Context:
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


async def thread_ids(saver: AsyncSqliteSaver, limit: int) -> list[str]:
    """The most recent runs' thread IDs, newest first."""
    await saver.setup()
    async with (
        saver.lock,
        saver.conn.execute(
            "SELECT thread_id, MAX(checkpoint_id) AS latest FROM checkpoints "
            "WHERE checkpoint_ns = '' GROUP BY thread_id ORDER BY latest DESC LIMIT ?",
            (limit,),
        ) as cursor,
    ):
        return [str(row[0]) async for row in cursor]


PANEL_FAILURES = ("insufficient_panel", "all_panels_failed")


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
    if reason in PANEL_FAILURES:
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


def saver_path(saver: AsyncSqliteSaver) -> str:
    return str(getattr(saver.conn, "_path", "the checkpoint database"))

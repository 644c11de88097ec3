"""Retention: remove old runs' checkpoints, on SQLite or PostgreSQL alike.

LangGraph's checkpointers never delete anything, so a busy server's database only
grows. `prune` picks the runs whose last checkpoint is older than a cut-off (and,
optionally, whose status is one of some), and removes each through the
checkpointer's own `adelete_thread`: no SQL is written for either backend. A run
that is running (its lease is held, `fusion.lease`) is never removed; each removal
holds the run's lease, so a resume that starts meanwhile is refused, not cut short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fusion.core.errors import RunBusy

if TYPE_CHECKING:  # (the CLI's parser imports this module: nothing heavy at import)
    from fusion.catalog import RunSummary
    from fusion.saver import Saver

__all__ = ["STATES", "Pruned", "parse_age", "prune_runs"]

STATES = ("ok", "degraded", "failed", "interrupted")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
RUNNER = "fusion prune"


@dataclass
class Pruned:
    """What a prune removed (or, dry, would remove), and what it left running."""

    removed: list[RunSummary]
    running: list[RunSummary]
    kept: int


def parse_age(text: str) -> timedelta:
    """ "30d", "12h", "90m", "45s" or "2w" as a duration; ValueError naming the form."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"give an age such as 30d, 12h, 90m or 2w, not {text!r}")
    return timedelta(seconds=float(found.group(1)) * UNITS[found.group(2)])


async def prune_runs(
    saver: Saver,
    older_than: timedelta,
    states: list[str] | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Pruned:
    """Remove every run last written before `now - older_than` whose state is in
    `states` (all states when None); with `dry_run`, only say which."""
    from fusion.catalog import run_summaries
    from fusion.lease import take_lease

    cutoff = (now or datetime.now(UTC)) - older_than
    removed: list[RunSummary] = []
    running: list[RunSummary] = []
    kept = 0
    for run in await run_summaries(saver, None):
        # a run with no status yet is `interrupted` to `--status`, running or not
        status = "interrupted" if run.status == "running" else run.status
        if not _old(run, cutoff) or (states and status not in states):
            kept += 1
            continue
        try:
            lease = await take_lease(saver, run.thread_id, RUNNER)
        except RunBusy:
            running.append(run)
            continue
        try:
            if not dry_run:
                await saver.adelete_thread(run.thread_id)
            removed.append(run)
        finally:
            if lease is not None:
                await lease.release()
    return Pruned(removed, running, kept)


def _old(run: RunSummary, cutoff: datetime) -> bool:
    if not run.created_at:
        return False
    written = datetime.fromisoformat(run.created_at)
    if written.tzinfo is None:
        written = written.replace(tzinfo=UTC)
    return written < cutoff

"""The `thread: <id>` line a run's command prints once the run is on disk, and the
run it named, so that an interrupt (Ctrl-C) can say which run to resume."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fusion.cli.terminal import data

if TYPE_CHECKING:  # (the parser imports the commands: no Rich before bad input is refused)
    from rich.console import Console

__all__ = ["announce", "announced"]

_announced: list[str] = []


def announce(err: Console, thread_id: str) -> None:
    """Print `thread: <id>` on `err`; call it only once the run can be resumed."""
    err.print(data(f"thread: {thread_id}"))
    _announced.append(thread_id)


def announced() -> str | None:
    """The run this process announced last, if any."""
    return _announced[-1] if _announced else None

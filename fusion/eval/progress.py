"""The progress bar over tasks x configs x repeats, with the running cost; quiet when
stderr is not a terminal (logs and pipes get one line at the start and one at the end).
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class EvalProgress:
    """Counts finished runs and dollars; draws a bar only in a terminal."""

    def __init__(self, console: Console, total: int, done: int = 0, cost: float = 0.0) -> None:
        self.console = console
        self.cost = cost
        self.failures = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]eval"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[cost]}"),
                TextColumn("{task.fields[failed]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._task = self._bar.add_task(
                "eval", total=total, completed=done, cost=self._cost(), failed=""
            )

    def __enter__(self) -> EvalProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, cost: float | None, *, failed: bool = False) -> None:
        self.cost += cost or 0.0
        self.failures += int(failed)
        if self._bar is not None and self._task is not None:
            failed_text = f"[red]{self.failures} failed" if self.failures else ""
            self._bar.update(self._task, advance=1, cost=self._cost(), failed=failed_text)

    def _cost(self) -> str:
        return f"${self.cost:.4f}"

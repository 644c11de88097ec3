"""The live view of a run in the terminal, fed by the graph's progress events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


@dataclass
class PanelistRow:
    model: str
    state: str = "waiting"
    detail: str = ""
    tokens: int = 0
    cost: float | None = None
    started: float = 0.0
    seconds: float | None = None


class LiveView:
    """A table of panelists (searching, fetching, drafting, done, failed) and the judge."""

    def __init__(self, console: Console, panel: list[str], judge: str) -> None:
        self.console = console
        self.rows = {m: PanelistRow(m) for m in panel}
        self.judge = judge
        self.judge_state = "waiting"
        self.answer_chars = 0
        # a callable renderable: the seconds column keeps ticking between events
        self.live = Live(get_renderable=self._table, console=console, refresh_per_second=8)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.refresh()
        self.live.__exit__(None, None, None)

    def on_event(self, event: dict[str, Any]) -> None:
        kind, model = event.get("event"), event.get("model", "")
        row = self.rows.get(model)
        if kind == "judge_started":
            self.judge, self.judge_state = model, "judging"
            self.answer_chars = 0
        elif kind == "judge_done":
            self.judge_state = "done" if event.get("status") == "ok" else str(event.get("status"))
        elif row is not None:
            _update_row(row, kind, event)
        self.live.refresh()

    def on_answer(self, text: str) -> None:
        """A chunk of the judge's answer: show that it is being written."""
        self.answer_chars += len(text)
        self.judge_state = f"writing ({self.answer_chars:,} chars)"
        self.live.refresh()

    def _table(self) -> Table:
        table = Table(show_edge=False, pad_edge=False, expand=False)
        for column in ("panelist", "state", "tokens", "cost", "seconds"):
            left = column in ("panelist", "state")
            table.add_column(column, justify="left" if left else "right")
        now = time.monotonic()
        for row in self.rows.values():
            seconds = (
                row.seconds
                if row.seconds is not None
                else (now - row.started if row.started else 0.0)
            )
            state = f"{row.state} {row.detail}".strip()
            table.add_row(
                row.model,
                state[:60],
                str(row.tokens or ""),
                _usd(row.cost),
                f"{seconds:.1f}" if row.started else "",
            )
        table.add_row(f"judge {self.judge}", self.judge_state, "", "", "")
        return table


def _update_row(row: PanelistRow, kind: Any, event: dict[str, Any]) -> None:
    if kind == "panelist_started":
        row.state, row.started = "drafting", time.monotonic()
    elif kind == "tool_call":
        row.state = "searching" if event.get("tool") == "web_search" else "fetching"
        row.detail = str(event.get("query") or event.get("url") or "")
    elif kind == "tool_result":
        row.state, row.detail = "drafting", ""
    elif kind == "draft_done":
        row.state, row.detail = "done", ""
        row.tokens = int(event.get("prompt_tokens", 0)) + int(event.get("completion_tokens", 0))
        row.cost, row.seconds = event.get("cost_usd"), event.get("seconds")
    elif kind == "panelist_failed":
        row.state, row.detail = "failed", str(event.get("reason", ""))
        row.seconds = time.monotonic() - row.started if row.started else None


def _usd(cost: float | None) -> str:
    return "" if cost is None else f"${cost:.4f}"

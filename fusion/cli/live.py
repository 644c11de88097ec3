"""The live view of a run in the terminal, fed by the graph's progress events.

A table of the panelists (searching, fetching, drafting, done, failed) and the judge
(analysing, writing, with its seconds ticking, then its tokens and cost), and under
it the last lines of the answer as the judge writes it. Search queries, URLs,
failure messages and the answer are outside text: shown through `fusion.cli.terminal`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fusion.cli.terminal import data, one_line
from fusion.core.events import StreamedAnswer

ANSWER_LINES = 6
"""How many of the answer's last lines the live view shows while it streams."""


@dataclass
class Row:
    """One line of the table: a panelist, or the judge."""

    model: str
    state: str = "waiting"
    detail: str = ""
    tokens: int = 0
    cost: float | None = None
    started: float = 0.0
    seconds: float | None = None

    def elapsed(self, now: float) -> str:
        if self.seconds is not None:
            return f"{self.seconds:.1f}"
        return f"{now - self.started:.1f}" if self.started else ""


class LiveView:
    """The table of panelists and judge, and the streaming answer's last lines."""

    def __init__(self, console: Console, panel: list[str], judge: str) -> None:
        self.console = console
        self.rows = {m: Row(m) for m in panel}
        self.judge = Row(judge)
        self._answer = StreamedAnswer()
        self.finished = False
        # a callable renderable: the seconds keep ticking between events
        self.live = Live(get_renderable=self._view, console=console, refresh_per_second=8)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finished = True  # the answer is printed whole next: drop its tail
        self.live.refresh()
        self.live.__exit__(None, None, None)

    def on_event(self, event: dict[str, Any]) -> None:
        kind, model = event.get("event"), str(event.get("model", ""))
        self._answer.on_event(kind)  # new answer text, if any comes, replaces the old
        if kind == "judge_started":
            self.judge = Row(model, "analysing the drafts", started=time.monotonic())
        elif kind in ("judge_retry", "judge_fallback"):
            retry = kind == "judge_retry"
            self.judge.state = "asking again" if retry else "in two calls"
            self.judge.detail = str(event.get("reason") or "")
        elif kind == "judge_done":
            status = event.get("status")
            self.judge.state = "done" if status == "ok" else "failed"
            self.judge.detail = "" if status == "ok" else str(status)
            self.judge.seconds = self._judge_seconds()
        elif model in self.rows:
            _update_row(self.rows[model], kind, event)
        self.live.refresh()

    def on_answer(self, text: str) -> None:
        """A chunk of the judge's answer: the answer's tail grows under the table."""
        self._answer.add(text)
        self.judge.state, self.judge.detail = (
            "writing the answer",
            f"{len(self._answer.text):,} chars",
        )
        self.live.refresh()

    def on_values(self, state: dict[str, Any]) -> None:
        """A state snapshot: drafts finished before a resume show as done earlier;
        the judge's calls give its tokens and cost."""
        for response in state.get("responses") or []:
            row = self.rows.get(response.get("model", ""))
            if row is not None and row.state == "waiting":
                usage = response.get("usage") or {}
                row.state = "done earlier" if response.get("status") == "ok" else "failed earlier"
                row.tokens = int(usage.get("prompt_tokens", 0)) + int(
                    usage.get("completion_tokens", 0)
                )
                row.cost, row.seconds = response.get("cost_usd"), response.get("seconds")
        calls = state.get("judge_calls") or []
        if calls:
            self.judge.tokens = sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
            costs = [c["cost_usd"] for c in calls if c.get("cost_usd") is not None]
            self.judge.cost = sum(costs) if costs else None
        self.live.refresh()

    def _judge_seconds(self) -> float | None:
        return time.monotonic() - self.judge.started if self.judge.started else None

    def _view(self) -> RenderableType:
        table = Table(show_edge=False, pad_edge=False, expand=False)
        for column in ("panelist", "state", "tokens", "cost", "seconds"):
            left = column in ("panelist", "state")
            table.add_column(column, justify="left" if left else "right", no_wrap=left)
        now = time.monotonic()
        for row in self.rows.values():
            table.add_row(*_cells(row, now, row.model))
        table.add_row(*_cells(self.judge, now, f"judge {self.judge.model}"))
        if self.finished or not self._answer.text:
            return table
        lines = self._answer.text.rstrip("\n").split("\n")[-ANSWER_LINES:]
        tail = [data(line, "dim") for line in lines]
        for line in tail:
            line.no_wrap, line.overflow = True, "ellipsis"
        return Group(table, Text("answer so far", "bold"), *tail)


def _cells(row: Row, now: float, name: str) -> tuple[Text, Text, str, str, str]:
    state = Text(row.state)
    if row.detail:
        state.append(" ")
        state.append_text(data(one_line(row.detail)[:60], "dim"))
    return (
        data(name),
        state,
        f"{row.tokens:,}" if row.tokens else "",
        "" if row.cost is None else f"${row.cost:.4f}",
        row.elapsed(now),
    )


def _update_row(row: Row, kind: Any, event: dict[str, Any]) -> None:
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

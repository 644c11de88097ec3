"""`fusion show`'s view of one run: the question, the answer, the analysis, each
draft (side by side when the terminal is wide), failures with their reasons, the
cost; with `--steps`, the checkpoint history. Everything models and users wrote is
printed as data (`fusion.cli.terminal`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from fusion.catalog import StoredRun
from fusion.cli.render import analysis_view, cost_line, drafts_view, failures_view, next_step
from fusion.cli.terminal import clean, data, markdown

__all__ = ["render_run", "render_steps"]


def render_run(console: Console, run: StoredRun) -> None:
    result = run.result
    console.print(Rule("question"))
    console.print(data(run.question))
    state = run.state
    line = Text.assemble(("state ", "bold"), state)
    if state == "interrupted":
        line.append(f" · continue it with `fusion resume {clean(result.thread_id or '')}`", "dim")
    elif result.failure_reason:
        line.append(f" · {result.failure_reason}", "yellow")
    console.print(line, soft_wrap=True)  # a command cut over two lines cannot be pasted
    if step := next_step(result):
        console.print(data(step, "dim"), soft_wrap=True)
    if result.rejudge_of:
        console.print(Text.assemble("re-judges the drafts of ", data(result.rejudge_of)))
    console.print(Rule("answer"))
    if result.answer:
        console.print(markdown(result.answer))
        if result.answer_truncated:
            console.print(Text("the answer was cut at the judge's token limit", "yellow"))
    elif state == "interrupted":
        console.print(Text("no answer yet: the run was interrupted before its answer", "dim"))
    elif state == "running":
        console.print(Text("no answer yet: the run is still running", "dim"))
    else:
        why = result.failure_reason or "unknown"
        detail = f" ({result.failure_message})" if result.failure_message else ""
        console.print(Text.assemble(("no answer", "bold red"), ": ", data(why + detail)))
    if result.analysis is not None:
        console.print(Rule("analysis"))
        console.print(analysis_view(result.analysis, console.width))
    if result.responses:
        console.print(Rule(f"drafts ({len(result.responses)})"))
        console.print(drafts_view(result.responses, console.width))
    failures = list(failures_view(result))
    if failures:
        console.print(Rule("failures"))
        for failure in failures:
            console.print(failure)
    console.print(Rule())
    console.print(data(cost_line(result, status=state)), soft_wrap=True)


def render_steps(console: Console, steps: list[dict[str, Any]]) -> None:
    """The checkpoint history: each step, the nodes that wrote and what came next."""
    table = Table(title="steps (checkpoint history)")
    for column in ("step", "source", "wrote", "next", "at"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            str(step["step"]),
            data(step["source"]),
            data(", ".join(step["wrote"])),
            data(", ".join(step["next"])),
            data(step["created_at"]),
        )
    console.print(table)

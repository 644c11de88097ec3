"""How a run is shown in the terminal: answer, analysis, drafts, failures, cost line.

Every string a model, page or user wrote goes through `fusion.cli.terminal` (a Rich
`Text`, control characters made visible): none is ever parsed as Rich markup.
When stdout is not a terminal, `write_plain` writes the answer as the judge wrote it
(Markdown, unwrapped) and the cost line goes to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from fusion.cli.terminal import clean, data, markdown, one_line
from fusion.result import Analysis, FusionResult, ResponseOut

__all__ = [
    "analysis_view",
    "cost_line",
    "drafts_view",
    "failures_view",
    "next_step",
    "render_result",
    "write_plain",
]

DRAFT_WIDTH = 48
"""The narrowest a draft's column gets before drafts are stacked instead."""


def render_result(console: Console, result: FusionResult) -> None:
    """What `fusion ask` and `fusion resume` print in a terminal once the run ends."""
    if result.answer:
        console.print(Rule("answer"))
        console.print(markdown(result.answer))
        if result.answer_truncated:
            console.print(Text("the answer was cut at the judge's token limit", "yellow"))
    else:
        console.print(Text.assemble(("no answer", "bold red"), ": ", data(_why(result))))
        ok = [r for r in result.responses if r.status == "ok"]
        if ok:
            console.print(Rule("the drafts, kept"))
            console.print(drafts_view(ok, console.width))
    if result.analysis:
        console.print(Rule("analysis"))
        console.print(analysis_view(result.analysis, console.width))
    elif result.answer and result.failure_reason:
        console.print(Text.assemble(("no analysis", "yellow"), ": ", data(_why(result))))
    for line in failures_view(result):
        console.print(line)
    console.print(Rule())
    console.print(data(cost_line(result)), soft_wrap=True)
    if step := next_step(result):
        console.print(data(step, "dim"), soft_wrap=True)


def write_plain(result: FusionResult) -> None:
    """Not a terminal: the answer as plain Markdown on stdout (as the judge wrote it,
    control characters made visible), what went wrong and the cost line on stderr."""
    if result.answer:
        sys.stdout.write(clean(result.answer).rstrip("\n") + "\n")
    else:
        sys.stderr.write(f"no answer: {one_line(_why(result))}\n")
    for line in failures_view(result):
        sys.stderr.write(line.plain + "\n")
    sys.stderr.write(clean(cost_line(result)) + "\n")
    if step := next_step(result):
        sys.stderr.write(clean(step) + "\n")


def next_step(result: FusionResult) -> str | None:
    """What to run after a failed run: resume retries only what failed; with drafts in
    hand, another judge can take them."""
    if result.status != "failed" or not result.thread_id:
        return None
    step = f"next: `fusion resume {result.thread_id}` retries only what failed"
    if any(r.status == "ok" for r in result.responses):
        step += f", or `fusion rejudge {result.thread_id} --judge MODEL` judges the drafts again"
    return step


def _why(result: FusionResult) -> str:
    reason = result.failure_reason or "unknown"
    return f"{reason} ({result.failure_message})" if result.failure_message else reason


def analysis_view(analysis: Analysis, width: int) -> RenderableType:
    """Consensus, contradictions (a table of each model's stance), partial coverage,
    unique insights and blind spots."""
    parts: list[RenderableType] = []
    parts += [_item("consensus", "green", point) for point in analysis.consensus]
    if analysis.contradictions:
        parts.append(_contradictions(analysis, width))
    for partial in analysis.partial_coverage:
        parts.append(_item("partial", "cyan", f"{partial.point} ({', '.join(partial.models)})"))
    for insight in analysis.unique_insights:
        parts.append(_item("unique", "magenta", f"{insight.model}: {insight.insight}"))
    parts += [_item("blind spot", "yellow", spot) for spot in analysis.blind_spots]
    return Group(*parts)


def _item(label: str, style: str, text: str) -> Text:
    return Text.assemble((label, style), " ", data(text))


def _contradictions(analysis: Analysis, width: int) -> Table:
    """One row per topic and one column per model when they fit; else one row per
    stance (topic, model, stance)."""
    models: list[str] = []
    for item in analysis.contradictions:
        models += [s.model for s in item.stances if s.model not in models]
    table = Table(title="contradictions", box=box.SIMPLE_HEAD, show_lines=True, expand=True)
    if (width - 20) // max(len(models), 1) >= 24:
        table.add_column("topic", style="bold", ratio=1)
        for model in models:
            table.add_column(data(model), ratio=2)
        for item in analysis.contradictions:
            stances = {s.model: s.stance for s in item.stances}
            table.add_row(data(item.topic), *(data(stances.get(m, "")) for m in models))
        return table
    table.add_column("topic", style="bold", ratio=1)
    table.add_column("model", ratio=1)
    table.add_column("stance", ratio=3)
    for item in analysis.contradictions:
        for n, stance in enumerate(item.stances):
            topic = data(item.topic) if n == 0 else Text("")
            table.add_row(topic, data(stance.model), data(stance.stance))
    return table


def draft_facts(response: ResponseOut) -> str:
    """Status, sources, tokens, cost and seconds of one draft, on one line."""
    usage = response.usage
    tokens = f"{usage.prompt_tokens:,} + {usage.completion_tokens:,} tokens"
    cut = " · cut at its token limit" if response.truncated else ""
    return (
        f"{response.status} · {len(response.sources)} sources · {tokens} · "
        f"{_usd(response.cost_usd)} · {response.seconds:.1f} s{cut}"
    )


def _draft(response: ResponseOut) -> Panel:
    style = "green" if response.status == "ok" else "red"
    body: list[RenderableType] = [
        Text(draft_facts(response), style="dim"),
        markdown(response.text) if response.text else Text("(no text)", "dim"),
    ]
    if response.sources:
        body.append(Text("sources", "bold"))
        body += [Text.assemble("• ", data(s.url, "blue")) for s in response.sources]
    for error in response.tool_errors:
        body.append(Text.assemble(("tool error ", "yellow"), data(one_line(error))))
    return Panel(Group(*body), title=data(response.model, "bold"), border_style=style)


def drafts_view(responses: list[ResponseOut], width: int) -> RenderableType:
    """Each draft in a panel: side by side when the terminal is wide enough for
    columns of at least `DRAFT_WIDTH`, one after another when it is narrow."""
    across = max(1, min(len(responses), width // DRAFT_WIDTH))
    if across == 1:
        return Group(*(_draft(r) for r in responses))
    rows: list[RenderableType] = []
    for start in range(0, len(responses), across):
        grid = Table.grid(expand=True, padding=(0, 1))
        for _ in range(across):
            grid.add_column(ratio=1)
        cells: list[RenderableType] = [_draft(r) for r in responses[start : start + across]]
        grid.add_row(*cells, *([Text("")] * (across - len(cells))))
        rows.append(grid)
    return Group(*rows)


def failures_view(result: FusionResult) -> Iterator[Text]:
    """One line per panelist left out (its reason and the provider's message) and per
    draft cut at its token limit."""
    for response in result.responses:
        if response.truncated:
            yield Text.assemble(
                ("cut off ", "yellow"), data(response.model), ": draft hit its token limit"
            )
    for failed in result.failed_models:
        message = f" {one_line(failed.message)}" if failed.message else ""
        yield Text.assemble(
            ("left out ", "yellow"), data(failed.model), f": {failed.reason}", data(message)
        )


def cost_line(result: FusionResult, status: str | None = None) -> str:
    """Status, tokens, dollars and thread; `status` replaces the result's own (an
    interrupted run has none yet)."""
    usage = result.usage
    cost = _usd(usage.cost_usd) if usage.cost_usd is not None else "cost unknown"
    if usage.cost_usd is not None and not usage.cost_complete:
        cost += " (incomplete)"
    return (
        f"{status or result.status} · {usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} "
        f"completion tokens · {cost} · thread {result.thread_id}"
    )


def _usd(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"${cost:.4f}"

"""How a finished run is shown in the terminal: answer, analysis, cost line."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.rule import Rule

from fusion.result import FusionResult


def render_result(console: Console, result: FusionResult) -> None:
    if result.answer:
        console.print(Rule("answer"))
        console.print(Markdown(result.answer))
    else:
        console.print(f"[bold red]no answer[/]: {result.failure_reason}{_said(result)}")
        for response in result.responses:
            if response.status == "ok":
                console.print(Rule(f"draft from {response.model}"))
                console.print(Markdown(response.text))
    if result.analysis:
        _render_analysis(console, result)
    elif result.answer and result.failure_reason:
        console.print(f"[yellow]no analysis[/]: {result.failure_reason}{_said(result)}")
    for response in result.responses:
        if response.truncated:
            console.print(f"[yellow]cut off[/] {escape(response.model)}: draft hit its token limit")
    for failed in result.failed_models:
        console.print(f"[yellow]left out[/] {failed.model}: {failed.reason} {failed.message}")
    console.print(Rule())
    console.print(cost_line(result), highlight=False)


def _said(result: FusionResult) -> str:
    """The failure in the provider's words, with Fusion's hint, escaped for Rich."""
    return f" ({escape(result.failure_message)})" if result.failure_message else ""


def _render_analysis(console: Console, result: FusionResult) -> None:
    analysis = result.analysis
    assert analysis is not None
    console.print(Rule("analysis"))
    for point in analysis.consensus:
        console.print(f"[green]consensus[/] {point}")
    for contradiction in analysis.contradictions:
        console.print(f"[red]contradiction[/] {contradiction.topic}")
        for stance in contradiction.stances:
            console.print(f"    {stance.model}: {stance.stance}")
    for partial in analysis.partial_coverage:
        console.print(f"[cyan]partial[/] {partial.point} ({', '.join(partial.models)})")
    for insight in analysis.unique_insights:
        console.print(f"[magenta]unique[/] {insight.model}: {insight.insight}")
    for spot in analysis.blind_spots:
        console.print(f"[yellow]blind spot[/] {spot}")


def cost_line(result: FusionResult) -> str:
    usage = result.usage
    if usage.cost_usd is None:
        cost = "cost unknown"
    else:
        cost = f"${usage.cost_usd:.4f}" + ("" if usage.cost_complete else " (incomplete)")
    return (
        f"{result.status} · {usage.prompt_tokens} prompt + {usage.completion_tokens} "
        f"completion tokens · {cost} · thread {result.thread_id}"
    )

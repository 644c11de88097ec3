"""`fusion estimate`: what `fusion ask` with the same arguments may cost.

It resolves the same plan as `ask` and prices it with `fusion.core.estimate`; it
calls no model and needs no API key, so it is safe to run before spending anything.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from fusion.cli.inputs import context_from_args, read_prompt
from fusion.cli.terminal import clean, data
from fusion.core.errors import ConfigError
from fusion.core.estimate import CostEstimate, check_budget, check_context_window, estimate_run
from fusion.core.plan import resolve_plan
from fusion.core.settings import load_settings


def estimate(args: argparse.Namespace) -> int:
    """Print the estimate (a table, or JSON with `--json`).

    Exit 0, or 1 when a `--budget` is given and `fusion ask` would refuse the run
    (over budget, or unpriced models), so scripts can test it; the reason goes to
    stderr in one line. Bad input raises `ConfigError` (exit 2 in the CLI).
    """
    prompt = read_prompt(args)
    context = context_from_args(args)
    settings = load_settings()
    plan = resolve_plan(context, settings)
    check_context_window(plan, settings, prompt)
    result = estimate_run(context, plan, settings, prompt)
    if getattr(args, "json", False):
        sys.stdout.write(result.model_dump_json() + "\n")
    else:
        render_estimate(Console(), result)
    try:
        check_budget(context, plan, settings, prompt)
    except ConfigError as exc:
        sys.stderr.write(f"fusion: {exc}\n")
        return 1
    return 0


def _usd(value: float | None) -> str:
    return "no price" if value is None else f"${value:.4f}"


def render_estimate(console: Console, result: CostEstimate) -> None:
    """A table of each model's tokens and dollars, then the total range."""
    table = Table(title="Estimated cost")
    for column in ("model", "role", "calls", "prompt tokens", "completion tokens"):
        table.add_column(column)
    table.add_column("low", justify="right")
    table.add_column("high", justify="right")
    for line in result.lines:
        table.add_row(
            data(line.model),
            line.role,
            f"{line.calls_low}-{line.calls_high}",
            f"{line.prompt_tokens_low:,}-{line.prompt_tokens_high:,}",
            f"{line.completion_tokens_low:,}-{line.completion_tokens_high:,}",
            _usd(line.low_usd),
            _usd(line.high_usd),
        )
    console.print(table)
    console.print(clean(f"expected cost: {result.range_text()}"), highlight=False, markup=False)
    for assumption in result.assumptions:
        console.print(clean(f"  assumes {assumption}"), style="dim", highlight=False, markup=False)


def main(argv: list[str] | None = None) -> int:
    """`python -m fusion.cli.estimate PROMPT [run options]`, the same as
    `fusion estimate`, for use before the sub-command is registered."""
    from fusion.cli.flags import OneLineParser, add_run_options

    parser = OneLineParser(prog="fusion estimate", description="Estimate a run's cost.")
    add_run_options(parser)
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    args = parser.parse_args(argv)
    try:
        return estimate(args)
    except ConfigError as exc:
        sys.stderr.write(f"fusion: error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

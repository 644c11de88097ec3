"""`fusion eval TASKS.jsonl --config NAME=SPEC ...`: configs side by side on your tasks,
with results.jsonl, report.md and report.png in --out DIR. Rerun to resume."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusion.cli.terminal import clean, data, one_line

if TYPE_CHECKING:  # imported when the command runs, so `fusion --help` stays fast
    from rich.console import Console

    from fusion.eval.stats import Summary


def add_eval_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """The `eval` sub-command and its flags."""
    parser = commands.add_parser(
        "eval",
        help="compare fusion, solo models and self-fusion on your own tasks",
        description="Run every config on every task, grade the answers, and write "
        "results.jsonl, report.md and report.png in --out. Rerun the same command to "
        "continue an interrupted eval: finished runs are not paid again.",
    )
    parser.add_argument("tasks", metavar="TASKS.jsonl", help="one JSON task per line")
    parser.add_argument(
        "--config",
        action="append",
        metavar="NAME=SPEC",
        help="a config to compare; repeat. SPEC: fusion:PRESET, fusion:panel=a,b,c;judge=d, "
        "solo:vendor/model, self:vendor/model*N, rejudge:NAME;judge=m (NAME's drafts, "
        "judged again)",
    )
    parser.add_argument("--grader", metavar="MODEL", help="grader model for rubric tasks")
    parser.add_argument("--repeats", type=int, default=1, metavar="N", help="runs per task")
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="runs at once (default 4)"
    )
    parser.add_argument(
        "--out", default="fusion-eval", metavar="DIR", help="output folder (default fusion-eval)"
    )
    parser.add_argument("--no-web", dest="web", action="store_false", help="no web tools")
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="run failed runs again (a fused run retries only its failed models or judge)",
    )


def eval_command(args: argparse.Namespace) -> int:
    """Run (or resume) the eval, then write and summarise the reports."""
    import asyncio  # here, not at the top: the parser loads this module

    from rich.console import Console

    from fusion.eval.configs import parse_configs
    from fusion.eval.report import write_report
    from fusion.eval.runner import RESULTS, EvalPlan, run_eval
    from fusion.eval.stats import summarise
    from fusion.eval.tasks import load_tasks

    tasks = load_tasks(args.tasks)
    configs = parse_configs(args.config)
    out = Path(args.out).expanduser()
    plan = EvalPlan(
        tasks=tasks,
        configs=configs,
        out=out,
        repeats=args.repeats,
        concurrency=args.concurrency,
        grader=args.grader,
        options={} if args.web else {"web": False},
        retry_failed=args.retry_failed,
    )
    err = Console(stderr=True)
    try:
        rows = asyncio.run(run_eval(plan, err))
    except KeyboardInterrupt:
        sys.stderr.write(
            f"fusion: eval interrupted; run the same command again to continue "
            f"(finished runs are kept in {out / RESULTS})\n"
        )
        return 130
    summary = summarise(configs, rows)
    title = f"{Path(args.tasks).name} ({len(tasks)} tasks)"
    picture = write_picture(out, summary, title, err)
    write_report(out / "report.md", plan, summary, rows, picture)
    print_summary(Console(width=None if sys.stdout.isatty() else 120), summary)
    written = ", ".join(str(out / n) for n in (RESULTS, "report.md", picture or "") if n)
    err.print(clean(f"wrote {written}"), highlight=False, markup=False, soft_wrap=True)
    return 0


def write_picture(out: Path, summary: Summary, title: str, err: Console) -> str | None:
    from fusion.eval.plot import PlotUnavailable, write_plot

    try:
        write_plot(out / "report.png", summary, f"{title}: score against cost per task")
    except PlotUnavailable as exc:
        err.print(one_line(f"fusion: {exc}"), highlight=False, markup=False)
        return None
    return "report.png"


def print_summary(console: Console, summary: Summary) -> None:
    from rich import box
    from rich.table import Table

    from fusion.eval.report import money, signed

    best = summary.best_solo
    title = f"best first; lift and cost ratio vs {best}" if best else "best first; no solo config"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ("config", "score", "95% CI", "lift", "x cost", "$/task", "p95 s", "fail")
    for column in columns:
        table.add_column(
            column,
            justify="left" if column == "config" else "right",
            no_wrap=True,
            min_width=len(column),
            max_width=16 if column == "config" else None,
        )
    for s in summary.configs:
        table.add_row(
            data(s.name),
            f"{s.score:.3f}",
            f"{s.ci[0]:.2f}-{s.ci[1]:.2f}",
            signed(s.lift),
            "n/a" if s.cost_ratio is None else f"{s.cost_ratio:.2f}",
            money(s.cost_per_task, s.cost_complete),
            f"{s.p95_s:.1f}",
            str(s.failures),
        )
    console.print(table)
    for j in summary.judges:
        console.print(
            clean(f"{j.name} vs {j.base} (same drafts, {j.tasks} tasks): ")
            + f"{signed(j.difference)} ({signed(j.ci[0])} to {signed(j.ci[1])}); "
            f"judging {money(j.judge_cost_per_task)}/task vs {money(j.base_judge_cost_per_task)}",
            highlight=False,
            markup=False,
        )

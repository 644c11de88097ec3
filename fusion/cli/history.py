"""`fusion resume`, `fusion show` and `fusion runs`: checkpointed runs, found again.
`show` and `resume` take a whole thread ID or any unique prefix of one."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from fusion.api import stream_run
from fusion.catalog import RunSummary, read_run, run_summaries
from fusion.cli.ask import follow, report
from fusion.cli.show import render_run, render_steps
from fusion.cli.terminal import clean, data, one_line
from fusion.cli.thread_line import announce
from fusion.graph.builder import build_graph
from fusion.lease import take_lease
from fusion.markdown import run_markdown
from fusion.result import FusionResult
from fusion.resume import prepare_resume
from fusion.runs import db_path, open_checkpointer, resolve_thread_id, run_config
from fusion.saver import describe

MIN_QUESTION_WIDTH = 20
"""Columns a question needs beside its run in `fusion runs`; else it goes under it."""


async def resume(args: argparse.Namespace) -> int:
    """Continue an interrupted run; finished panelists are not called again."""
    err = Console(stderr=True, highlight=False)
    async with open_checkpointer(db_path(args.db)) as saver:
        thread_id = await resolve_thread_id(saver, args.thread_id)
        # leased before anything is read to decide what to run: a second resume of a
        # running run is refused here, naming the runner (exit 2)
        lease = await take_lease(saver, thread_id, "fusion resume")
        try:
            resumption = await prepare_resume(saver, thread_id)
            announce(err, thread_id)  # an API client can choose any ID
            if resumption.plan is None:
                err.print("the run had already finished; its result:", markup=False)
                finished = resumption.finished or {}
                return report(FusionResult.from_state(finished, thread_id), as_json=args.json)
            if resumption.retrying:
                err.print(data(f"retrying {resumption.retrying}"))
            plan = resumption.plan
            runner = stream_run(None, resumption.context, saver, thread_id, lease=lease)
            final = await follow(runner, err, plan.panel, plan.judge, live=not args.json)
        finally:
            if lease is not None:
                await lease.release()
    return report(FusionResult.from_state(final, thread_id), as_json=args.json)


async def show(args: argparse.Namespace) -> int:
    """Print a run: question, answer, analysis, drafts, failures and cost; its step
    history with `--steps`; a Markdown report with `--markdown`; JSON with `--json`."""
    async with open_checkpointer(db_path(args.db)) as saver:
        thread_id = await resolve_thread_id(saver, args.thread_id)
        run = await read_run(saver, thread_id)
        steps: list[dict[str, Any]] = []
        if args.json or args.steps:
            graph = build_graph(checkpointer=saver)
            history = graph.aget_state_history(run_config(thread_id))
            steps = [_step(s) async for s in history][::-1]
    if args.json:
        payload = {
            "result": run.result.model_dump(),
            "question": run.question,
            "interrupted": run.state == "interrupted",
            "running": run.running,
            "pending": run.pending,
            "history": steps,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return 0
    if args.markdown:
        sys.stdout.write(clean(run_markdown(run.result, run.question)))
        return 0
    console = Console(highlight=False)
    render_run(console, run)
    if run.running is not None:
        console.print(data(f"running now: {run.running} (a resume is refused until it ends)"))
    if args.steps:
        render_steps(console, steps)
    return 0


def _step(snapshot: Any) -> dict[str, Any]:
    metadata = snapshot.metadata or {}
    return {
        "step": metadata.get("step"),
        "source": str(metadata.get("source", "")),
        "wrote": sorted({t.name for t in snapshot.tasks if t.result is not None}),
        "next": list(snapshot.next),
        "created_at": snapshot.created_at or "",
    }


async def runs(args: argparse.Namespace) -> int:
    """List recent runs, newest first: whole thread IDs (to paste), status and cost."""
    async with open_checkpointer(db_path(args.db)) as saver:
        rows = await run_summaries(saver, args.limit)
    if args.json:
        sys.stdout.write(json.dumps([row.model_dump() for row in rows]) + "\n")
        return 0
    width = max((len(row.thread_id) for row in rows), default=36)
    header = f"{'thread':<{width}}  {'status':<11}  {'cost':>9}  {'at':<16}  question"
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: whole lines, the question never cut
        lines = [clean(f"runs in {describe(db_path(args.db))}"), header]
        lines += [f"{_columns(row, width)}  {one_line(row.question)}" for row in rows]
        sys.stdout.write("".join(f"{line}\n" for line in lines))
        return 0
    console.print(data(f"runs in {describe(db_path(args.db))}", "bold"), soft_wrap=True)
    # whole IDs always; the question goes under its run when the row leaves it no room
    beside = console.width - len(header) + len("question") >= MIN_QUESTION_WIDTH
    console.print(Text(header if beside else header.removesuffix("  question"), "dim"))
    for row in rows:
        if beside:
            line = Text.assemble((_columns(row, width), "bold"), "  ", one_line(row.question))
            console.print(line, no_wrap=True, overflow="ellipsis")
        else:
            console.print(Text(_columns(row, width), "bold"), no_wrap=True, overflow="ellipsis")
            console.print(Text("  " + one_line(row.question)), no_wrap=True, overflow="ellipsis")
    return 0


def _columns(row: RunSummary, width: int) -> str:
    cost = "" if row.cost_usd is None else f"${row.cost_usd:.4f}"
    at = (row.created_at or "")[:16].replace("T", " ")
    return clean(f"{row.thread_id:<{width}}  {row.status:<11}  {cost:>9}  {at:<16}")

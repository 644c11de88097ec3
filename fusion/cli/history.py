"""`fusion resume`, `fusion show` and `fusion runs`: checkpointed runs, found again."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fusion.api import stream_run
from fusion.catalog import run_summaries
from fusion.cli.ask import follow, report
from fusion.cli.terminal import clean, data, one_line
from fusion.graph.builder import build_graph
from fusion.lease import take_lease
from fusion.result import FusionResult
from fusion.resume import prepare_resume
from fusion.runs import (
    db_path,
    is_finished,
    open_checkpointer,
    resolve_thread_id,
    run_config,
    run_question,
)
from fusion.saver import describe


async def resume(args: argparse.Namespace) -> int:
    """Continue an interrupted run; finished panelists are not called again."""
    err = Console(stderr=True)
    async with open_checkpointer(db_path(args.db)) as saver:
        args.thread_id = await resolve_thread_id(saver, args.thread_id)
        # leased before anything is read to decide what to run: a second resume of a
        # running run is refused here, naming the runner (exit 2)
        lease = await take_lease(saver, args.thread_id, "fusion resume")
        try:
            resumption = await prepare_resume(saver, args.thread_id)
            err.print(f"thread: {args.thread_id}", highlight=False, markup=False)
            if resumption.plan is None:
                err.print("the run had already finished; its result:", highlight=False)
                finished = resumption.finished or {}
                return report(FusionResult.from_state(finished, args.thread_id), as_json=args.json)
            if resumption.retrying:
                err.print(f"retrying {resumption.retrying}", highlight=False, markup=False)
            plan = resumption.plan
            runner = stream_run(None, resumption.context, saver, args.thread_id, lease=lease)
            final = await follow(runner, err, plan.panel, plan.judge, live=not args.json)
        finally:
            if lease is not None:
                await lease.release()
    return report(FusionResult.from_state(final, args.thread_id), as_json=args.json)


async def show(args: argparse.Namespace) -> int:
    """Print a run's state (drafts so far, analysis, cost, failures) and step history."""
    async with open_checkpointer(db_path(args.db)) as saver:
        args.thread_id = await resolve_thread_id(saver, args.thread_id)
        graph = build_graph(checkpointer=saver)
        config = run_config(args.thread_id)
        snapshot = await graph.aget_state(config)
        history = [_step(s) async for s in graph.aget_state_history(config)][::-1]
        question = await run_question(saver, args.thread_id, snapshot.values)
    result = FusionResult.from_state(snapshot.values, args.thread_id)
    pending = list(snapshot.next)
    interrupted = not is_finished(snapshot)
    if args.json:
        payload = {
            "result": result.model_dump(),
            "question": question,
            "interrupted": interrupted,
            "pending": pending,
            "history": history,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return 0
    console = Console()
    console.print(f"question: {question}", highlight=False, markup=False)
    state = "interrupted (resume it with `fusion resume`)" if interrupted else result.status
    console.print(f"state: {state}", highlight=False)
    if result.rejudge_of:
        console.print(f"re-judges the drafts of {result.rejudge_of}", highlight=False, markup=False)
    table = Table(title="steps")
    for column in ("step", "source", "wrote", "next", "at"):
        table.add_column(column)
    for step in history:
        table.add_row(
            str(step["step"]),
            step["source"],
            ", ".join(step["wrote"]),
            ", ".join(step["next"]),
            step["created_at"],
        )
    console.print(table)
    report(result, as_json=False)
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
    console = Console(highlight=False)
    console.print(data(f"runs in {describe(db_path(args.db))}", "bold"), soft_wrap=True)
    width = max((len(row.thread_id) for row in rows), default=36)
    console.print(
        Text(f"{'thread':<{width}}  {'status':<11}  {'cost':>9}  {'at':<16}  question", "dim")
    )
    for row in rows:
        cost = "" if row.cost_usd is None else f"${row.cost_usd:.4f}"
        at = (row.created_at or "")[:16].replace("T", " ")
        line = Text.assemble(
            (f"{clean(row.thread_id):<{width}}", "bold"),
            f"  {row.status:<11}  {cost:>9}  {at:<16}  ",
            one_line(row.question),
        )
        # whole IDs always: only the question is cut, at the terminal's edge
        console.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=not console.is_terminal)
    return 0

"""`fusion prune`: remove old runs' checkpoints (SQLite or PostgreSQL)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fusion.cli.flags import add_db_option
from fusion.cli.terminal import data, one_line
from fusion.prune import STATES, parse_age


def add_prune_parser(commands: argparse._SubParsersAction[Any]) -> None:
    prune = commands.add_parser(
        "prune",
        help="remove old runs' checkpoints",
        description="Remove the checkpoints of runs last written longer ago than "
        "--older-than. Running runs are never removed.",
    )
    prune.add_argument(
        "--older-than",
        required=True,
        type=_age,
        metavar="AGE",
        help="runs last written longer ago than this: 30d, 12h, 90m, 2w",
    )
    prune.add_argument(
        "--status",
        action="append",
        type=_states,
        metavar="STATUS",
        help=f"only runs in this state ({', '.join(STATES)}); repeat or separate with commas",
    )
    prune.add_argument("--dry-run", action="store_true", help="list what would go; remove nothing")
    prune.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_db_option(prune)


async def prune(args: argparse.Namespace) -> int:
    # imported here: the parser loads this module, and refusals come before Rich
    from rich.console import Console
    from rich.table import Table

    from fusion.prune import prune_runs
    from fusion.runs import db_path, open_checkpointer
    from fusion.saver import describe

    states = sorted({s for group in args.status or [] for s in group}) or None
    target = db_path(args.db)
    async with open_checkpointer(target) as saver:
        pruned = await prune_runs(saver, args.older_than, states, dry_run=args.dry_run)
    if args.json:
        payload = {
            "dry_run": args.dry_run,
            "removed": [run.model_dump() for run in pruned.removed],
            "running": [run.thread_id for run in pruned.running],
            "kept": pruned.kept,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return 0
    console = Console()
    verb = "would remove" if args.dry_run else "removed"
    if pruned.removed:
        table = Table(title=data(f"{verb} from {describe(target)}"))  # a user's path
        for column in ("thread", "status", "last written", "question"):
            table.add_column(column)
        for run in pruned.removed:
            table.add_row(
                data(run.thread_id),
                data(run.status),
                data(run.created_at or ""),
                data(one_line(run.question)[:60]),
            )
        console.print(table)
    line = f"{verb} {len(pruned.removed)} run(s); kept {pruned.kept}"
    if pruned.running:
        line += f" and {len(pruned.running)} running (never removed)"
    console.print(line, highlight=False, markup=False)
    return 0


def _age(text: str) -> object:
    try:
        return parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _states(text: str) -> list[str]:
    given = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in given if s not in STATES]
    if unknown or not given:
        raise argparse.ArgumentTypeError(
            f"unknown status {(unknown or [text])[0]!r}: choose from {', '.join(STATES)}"
        )
    return given

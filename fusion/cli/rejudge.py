"""`fusion rejudge`: judge a stored run's drafts again, as a new run."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, get_type_hints

from fusion.cli.flags import add_context_flag, add_db_option
from fusion.cli.thread_line import announce
from fusion.core.context import Context

REJUDGE_OPTIONS = ("judge", "fallback_judge", "instructions", "judge_order")
"""The `Context` fields a re-judge can change; the panel's are the source run's."""


def add_rejudge_parser(commands: Any) -> None:
    rejudge = commands.add_parser(
        "rejudge",
        help="judge a stored run's drafts again, as a new run (no panelist is called)",
        description="Judge a finished run's drafts again (or those of a run whose judge "
        "failed) without calling any panelist. The result is a new run with its own "
        "thread ID; the source run is not changed. Options not given keep the source's.",
    )
    rejudge.add_argument("thread_id", help="the source run's thread ID, or any unique prefix of it")
    hints = get_type_hints(Context)
    fields = {f.name: f for f in dataclasses.fields(Context)}
    for name in REJUDGE_OPTIONS:
        add_context_flag(rejudge, fields[name], hints[name])
    rejudge.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_db_option(rejudge)


async def rejudge_command(args: argparse.Namespace) -> int:
    # imported here: the parser loads this module, and refusals come before LangChain
    from rich.console import Console

    from fusion.api import stream_run
    from fusion.cli.ask import follow, report
    from fusion.cli.terminal import data
    from fusion.rejudging import RUNNER, prepare_rejudge, start_rejudge
    from fusion.result import FusionResult
    from fusion.runs import db_path, open_checkpointer

    err = Console(stderr=True)
    async with open_checkpointer(db_path(args.db)) as saver:
        rejudging = await prepare_rejudge(
            saver,
            args.thread_id,
            judge=args.judge,
            fallback_judge=args.fallback_judge,
            instructions=args.instructions,
            judge_order=args.judge_order,
        )
        # the new run is on disk before its ID is shown: killed from here on, it resumes
        await start_rejudge(saver, rejudging)
        announce(err, rejudging.thread_id)
        err.print(data(f"re-judging the drafts of {rejudging.source}"))  # any ID an API took
        runner = stream_run(None, rejudging.context, saver, rejudging.thread_id, runner=RUNNER)
        final = await follow(runner, err, [], rejudging.plan.judge, live=not args.json)
    return report(FusionResult.from_state(final, rejudging.thread_id), as_json=args.json)

"""`fusion ask`: run one fused answer with a live view, or as one JSON object.

In a terminal: the live table, then the answer rendered, the analysis and a cost
line. Piped: the answer as plain Markdown on stdout, the cost line on stderr.
With `--json`: one JSON object on stdout, whatever happens.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console

from fusion.api import preflight, register_run, run_input, stream_run
from fusion.cli.inputs import CheckedAsk
from fusion.cli.live import LiveView
from fusion.cli.render import render_result, write_plain
from fusion.cli.terminal import StatusLine, clean
from fusion.cli.thread_line import announce
from fusion.lease import take_lease
from fusion.result import FusionResult
from fusion.runs import db_path, open_checkpointer


async def ask(args: argparse.Namespace, checked: CheckedAsk, status: StatusLine) -> int:
    """Run the checked question; bad keys, budget or context window refused first."""
    plan = preflight(checked.context, checked.prompt)
    thread_id = str(uuid.uuid4())
    err = Console(stderr=True, highlight=False)
    payload = run_input(checked.prompt, None)
    async with open_checkpointer(db_path(args.db)) as saver:
        lease = await take_lease(saver, thread_id, "fusion ask")
        try:
            # the run is on disk before its ID is shown: killed from here on, it resumes
            await register_run(saver, payload, checked.context, thread_id)
            status.clear()
            announce(err, thread_id)
            runner = stream_run(None, checked.context, saver, thread_id, lease=lease)
            final = await follow(runner, err, plan.panel, plan.judge, live=not args.json)
        finally:
            if lease is not None:
                await lease.release()
    return report(FusionResult.from_state(final, thread_id), as_json=args.json)


async def follow(
    runner: AsyncIterator[tuple[str, Any]],
    err: Console,
    panel: list[str],
    judge: str,
    *,
    live: bool,
) -> dict[str, Any]:
    """Show a run's progress (live table in a terminal, plain lines otherwise) and
    return its final state."""
    final: dict[str, Any] = {}
    view = LiveView(err, panel, judge) if live and err.is_terminal else None
    if view is not None:
        with view:
            async for kind, data in runner:
                if kind == "custom":
                    view.on_event(data)
                elif kind == "answer":
                    view.on_answer(data)
                elif kind == "values":
                    final = data
                    view.on_values(data)
    else:
        async for kind, data in runner:
            if kind == "custom":
                _log_event(data)
            elif kind == "values":
                final = data
    return final


def report(result: FusionResult, *, as_json: bool) -> int:
    """Print the result and return the exit code: JSON on stdout; or, in a terminal,
    rendered; or, piped, the answer as plain Markdown (cost line on stderr)."""
    if as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
    elif sys.stdout.isatty():
        render_result(Console(highlight=False), result)
    else:
        write_plain(result)
    return 0 if result.status != "failed" else 1


def _log_event(event: dict[str, Any]) -> None:
    """One plain progress line per event, for logs and pipes (stderr only)."""
    fields = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("event", "model"))
    line = f"{event.get('event')} {event.get('model', '')} {fields}".rstrip()
    sys.stderr.write(clean(" ".join(line.split())) + "\n")
    sys.stderr.flush()

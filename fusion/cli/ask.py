"""`fusion ask`: run one fused answer with a live view, or as one JSON object."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console

from fusion.api import make_context, preflight, register_run, run_input, stream_run
from fusion.cli.live import LiveView
from fusion.cli.render import render_result
from fusion.result import FusionResult
from fusion.runs import db_path, open_checkpointer

RUN_OPTIONS = (
    "preset",
    "panel",
    "judge",
    "fallback_judge",
    "judge_order",
    "judge_method",
    "web",
    "research",
    "search_provider",
    "max_tool_calls",
    "temperature",
    "max_completion_tokens",
    "deadline_s",
    "quorum",
    "budget_usd",
    "seed",
    "instructions",
)


def context_from_args(args: argparse.Namespace) -> Any:
    return make_context(**{name: getattr(args, name, None) for name in RUN_OPTIONS})


async def ask(args: argparse.Namespace) -> int:
    context = context_from_args(args)
    plan = preflight(context, args.prompt)
    thread_id = str(uuid.uuid4())
    err = Console(stderr=True)
    payload = run_input(args.prompt.strip(), None)
    async with open_checkpointer(db_path(args.db)) as saver:
        # the run is on disk before its ID is shown: killed from here on, it resumes
        await register_run(saver, payload, context, thread_id)
        err.print(f"thread: {thread_id}", highlight=False, markup=False)
        runner = stream_run(None, context, saver, thread_id)
        final = await follow(runner, err, plan.panel, plan.judge, live=not args.json)
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
    else:
        async for kind, data in runner:
            if kind == "custom":
                _log_event(err, data)
            elif kind == "values":
                final = data
    return final


def report(result: FusionResult, *, as_json: bool) -> int:
    """Print the result (JSON on stdout, or rendered) and return the exit code."""
    if as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
    else:
        render_result(Console(), result)
    return 0 if result.status != "failed" else 1


def _log_event(console: Console, event: dict[str, Any]) -> None:
    """One plain progress line per event, for logs and pipes (stderr only)."""
    fields = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("event", "model"))
    console.print(
        f"{event.get('event')} {event.get('model', '')} {fields}".rstrip(),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )

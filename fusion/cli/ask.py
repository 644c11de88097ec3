"""`fusion ask`: run one fused answer with a live view, or as one JSON object."""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from rich.console import Console

from fusion.api import make_context, preflight, run_input, stream_run
from fusion.cli.live import LiveView
from fusion.cli.render import render_result
from fusion.result import FusionResult

RUN_OPTIONS = (
    "preset",
    "panel",
    "judge",
    "fallback_judge",
    "web",
    "max_tool_calls",
    "temperature",
    "max_completion_tokens",
    "deadline_s",
    "quorum",
    "budget_usd",
    "seed",
)


def context_from_args(args: argparse.Namespace) -> Any:
    return make_context(**{name: getattr(args, name, None) for name in RUN_OPTIONS})


async def ask(args: argparse.Namespace) -> int:
    context = context_from_args(args)
    plan = preflight(context, args.prompt)
    thread_id = str(uuid.uuid4())
    err = Console(stderr=True)
    err.print(f"thread: {thread_id}", highlight=False, markup=False)
    payload = run_input(args.prompt.strip(), None)
    final: dict[str, Any] = {}
    live = err.is_terminal and not args.json
    view = LiveView(err, plan.panel, plan.judge) if live else None
    runner = stream_run(payload, context, checkpointer=None, thread_id=thread_id)
    if view is not None:
        with view:
            async for kind, data in runner:
                if kind == "custom":
                    view.on_event(data)
                else:
                    final = data
    else:
        async for kind, data in runner:
            if kind == "custom":
                _log_event(err, data)
            else:
                final = data
    result = FusionResult.from_state(final, thread_id)
    if args.json:
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

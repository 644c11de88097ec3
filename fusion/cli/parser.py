"""The `fusion` command line: sub-commands and their flags (shared ones in
`fusion.cli.flags`)."""

from __future__ import annotations

import argparse

from fusion.cli.eval import add_eval_parser
from fusion.cli.flags import (
    OneLineParser,
    UsageError,
    add_context_flag,
    add_db_option,
    add_run_options,
)
from fusion.cli.mcp import add_mcp_parser
from fusion.cli.prune import add_prune_parser
from fusion.cli.rejudge import add_rejudge_parser

__all__ = [
    "OneLineParser",
    "UsageError",
    "add_context_flag",
    "add_db_option",
    "add_run_options",
    "build_parser",
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="fusion",
        description="Ask a panel of models, with web tools, and get one judged answer.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    ask = commands.add_parser("ask", help="fuse one answer", description="Fuse one answer.")
    add_run_options(ask)
    ask.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_db_option(ask)
    resume = commands.add_parser("resume", help="continue an interrupted run")
    resume.add_argument(
        "thread_id", help="the run's thread ID (printed as `thread: ...`), or a unique prefix"
    )
    resume.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_db_option(resume)
    show = commands.add_parser(
        "show", help="a run: question, answer, analysis, drafts, failures, cost"
    )
    show.add_argument("thread_id", help="the run's thread ID, or any unique prefix of it")
    show.add_argument("--steps", action="store_true", help="also print the checkpoint history")
    show.add_argument(
        "--markdown", action="store_true", help="print a shareable Markdown report instead"
    )
    show.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_db_option(show)
    runs = commands.add_parser("runs", help="recent runs with status and cost")
    runs.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")
    runs.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    add_db_option(runs)
    estimate = commands.add_parser(
        "estimate",
        help="expected cost of an ask, without calling any model",
        description="Estimate what `fusion ask` with the same arguments may cost.",
    )
    add_run_options(estimate)
    estimate.add_argument("--json", action="store_true", help="print the estimate as JSON")
    commands.add_parser("presets", help="list the presets")
    serve = commands.add_parser(
        "serve",
        help="serve the OpenAI chat completions API (model `fusion` or `fusion/<preset>`)",
        description="Serve GET /v1/models and POST /v1/chat/completions. Set "
        "FUSION_SERVER_API_KEY to require `Authorization: Bearer <key>`.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default info)",
    )
    add_db_option(serve)
    add_rejudge_parser(commands)
    add_eval_parser(commands)
    add_mcp_parser(commands)
    add_prune_parser(commands)
    return parser

"""The `fusion` command line: sub-commands and their flags."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """Usage errors print one line naming the fix, then exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"fusion: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that plans a run (ask, and later estimate)."""
    parser.add_argument("prompt", help="the question to put to the panel")
    parser.add_argument("--preset", help="preset name (see `fusion presets`)")
    parser.add_argument(
        "--panel",
        action="append",
        metavar="MODEL",
        help="a panel model ID; repeat for each panelist (1 to 8)",
    )
    parser.add_argument("--judge", metavar="MODEL", help="judge model ID")
    parser.add_argument("--fallback-judge", metavar="MODEL", help="judge to try if the judge fails")
    add_judge_order_option(parser)
    parser.add_argument(
        "--judge-method",
        choices=["function_calling", "json_schema", "json_mode"],
        help="how the judge is asked for structured output (default: the config file's, "
        "else what the provider's server supports, else function_calling)",
    )
    parser.add_argument("--no-web", dest="web", action="store_false", help="no web tools")
    parser.add_argument(
        "--research",
        choices=["agentic", "prefetch", "off"],
        help="agentic (default): each panelist searches with tools; prefetch: Fusion "
        "searches the question once and gives every panelist the top pages (models "
        "without tool calling); off: no web",
    )
    parser.add_argument(
        "--search-provider",
        choices=["tavily", "searxng"],
        help="web search backend: tavily (default; TAVILY_API_KEY) or searxng (SEARXNG_URL)",
    )
    parser.add_argument("--max-tool-calls", type=int, metavar="N", help="tool calls per panelist")
    parser.add_argument("--temperature", type=float, help="panel sampling temperature")
    parser.add_argument(
        "--max-completion-tokens", type=int, metavar="N", help="cap on each panelist's output"
    )
    parser.add_argument(
        "--deadline",
        dest="deadline_s",
        type=float,
        metavar="SECONDS",
        help="cut panelists still running after this many seconds",
    )
    parser.add_argument("--quorum", type=int, metavar="K", help="drafts needed for the judge")
    parser.add_argument(
        "--budget",
        dest="budget_usd",
        type=float,
        metavar="USD",
        help="refuse runs estimated to cost more",
    )
    parser.add_argument("--seed", type=int, help="seed for the order drafts reach the judge")
    parser.add_argument(
        "--instructions",
        metavar="TEXT",
        help="how the answer should be written (language, format, length), for panel and judge",
    )


def add_judge_order_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--judge-order",
        choices=["analysis_first", "answer_first"],
        help="analysis_first (default): the judge analyses the drafts, then writes the "
        "answer, in one streamed call; answer_first: the answer, then the analysis",
    )


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="checkpoint database (default: $FUSION_DB, else ~/.local/share/fusion/runs.sqlite)",
    )


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
    resume.add_argument("thread_id", help="the run's thread ID (printed as `thread: ...`)")
    resume.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_db_option(resume)
    show = commands.add_parser("show", help="a run's state and step history")
    show.add_argument("thread_id", help="the run's thread ID")
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
    from fusion.cli.eval import add_eval_parser
    from fusion.cli.mcp import add_mcp_parser

    add_eval_parser(commands)
    add_mcp_parser(commands)
    return parser

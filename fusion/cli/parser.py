"""The `fusion` command line: sub-commands and their flags."""

from __future__ import annotations

import argparse
import sys
import types
from dataclasses import Field
from typing import Any, Literal, NoReturn, Union, get_args, get_origin, get_type_hints

from fusion.core.context import Context, flag_of, option_fields


class UsageError(SystemExit):
    """A usage error, already printed; exit code 2. `message` is that line."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


class OneLineParser(argparse.ArgumentParser):
    """Usage errors print one line naming the fix, then exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        line = f"{message} (see `{self.prog} --help`)"
        sys.stderr.write("\r\x1b[2K" if sys.stderr.isatty() else "")  # a status line
        sys.stderr.write(f"fusion: error: {line}\n")
        raise UsageError(line)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The prompt and one flag per `Context` option (`fusion.core.context`), shared by
    every command that plans a run (ask, estimate)."""
    parser.add_argument(
        "prompt", nargs="?", help="the question to put to the panel; `-` reads it from stdin"
    )
    parser.add_argument("--prompt-file", metavar="PATH", help="read the question from a file")
    hints = get_type_hints(Context)
    for field in option_fields("cli"):
        add_context_flag(parser, field, hints[field.name])


def add_context_flag(parser: argparse.ArgumentParser, field: Field[Any], hint: Any) -> None:
    """`field`'s flag, typed from its annotation; not given, it parses as None (the
    `Context` default applies)."""
    flag, dest = flag_of(field), field.name
    meta = field.metadata
    words = {"help": meta.get("help") or meta["description"], "default": None}
    if meta.get("metavar"):
        words["metavar"] = meta["metavar"]
    kinds = [a for a in _alternatives(hint) if a is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind is bool:
        action = "store_false" if flag.startswith("--no-") else "store_true"
        words.pop("metavar", None)
        parser.add_argument(flag, dest=dest, action=action, **words)
    elif get_origin(kind) is list and get_args(kind) == (str,):
        parser.add_argument(flag, dest=dest, action="append", **words)
    elif get_origin(kind) is Literal:
        parser.add_argument(flag, dest=dest, choices=list(get_args(kind)), **words)
    elif kind in (str, int, float):
        parser.add_argument(flag, dest=dest, type=kind, **words)
    else:
        raise TypeError(
            f"Context.{field.name}: no CLI flag for type {hint}; mark it cli=False "
            "(serve only) or internal=True in its metadata"
        )


def _alternatives(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (Union, types.UnionType):
        return get_args(hint)
    return (hint,)


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
    from fusion.cli.eval import add_eval_parser
    from fusion.cli.mcp import add_mcp_parser
    from fusion.cli.prune import add_prune_parser
    from fusion.cli.rejudge import add_rejudge_parser

    add_rejudge_parser(commands)
    add_eval_parser(commands)
    add_mcp_parser(commands)
    add_prune_parser(commands)
    return parser

"""Flags shared by the `fusion` sub-commands: the run options derived from `Context`,
the checkpoint database, and the parser whose usage errors are one line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import Field
from typing import Any, Literal, NoReturn, get_args, get_origin, get_type_hints

from fusion.core.context import Context
from fusion.core.options import flag_of, held_type, option_fields


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
    kind = held_type(hint)
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


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="checkpoint database (default: $FUSION_DB, else ~/.local/share/fusion/runs.sqlite)",
    )

"""Refusals in the words of the interface that reads them.

Fusion's checks name the fix as a CLI user would type it (`--no-web`, `--budget`);
an API client sets options in the request's `fusion` object instead. `for_api()`
rewrites each flag of `fusion ask` into the request option it stands for, read from
the command line parser itself, so the two never drift apart.
"""

from __future__ import annotations

import argparse
import re
from functools import cache

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


@cache
def _options() -> dict[str, str]:
    """`--flag` -> how the `fusion` object says it."""
    from fusion.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    ask = commands.choices["ask"]
    words: dict[str, str] = {}
    for action in ask._actions:
        for flag in action.option_strings:
            if isinstance(action, argparse._StoreFalseAction):
                words[flag] = f"`fusion.{action.dest}: false`"
            elif flag.startswith("--") and action.dest not in ("help", "json", "db"):
                words[flag] = f"`fusion.{action.dest}`"
    return words


def for_api(message: str) -> str:
    """`message` with every `fusion ask` flag replaced by its request option."""
    words = _options()
    return _FLAG.sub(lambda m: words.get(m.group(0), m.group(0)), message)

"""Where each `Context` field is offered: the CLI's flags and `fusion serve`'s `fusion`
object (which the MCP tools and the web page's form follow), read from the field's
metadata (see `fusion.core.context`)."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin

from fusion.core.context import Context

__all__ = ["Surface", "flag_of", "flag_words", "held_type", "option_fields", "reword"]

Surface = Literal["cli", "serve"]


def option_fields(surface: Surface) -> list[dataclasses.Field[Any]]:
    """The `Context` fields offered as options on `surface` (CLI flags or the `fusion`
    object of `fusion serve`), in declaration order."""
    return [
        f
        for f in dataclasses.fields(Context)
        if not f.metadata.get("internal") and f.metadata.get(surface, True)
    ]


def flag_of(field: dataclasses.Field[Any]) -> str:
    """A field's CLI flag: its `flag` metadata, else `--field-name` (`--no-field-name`
    for a bool whose default is true)."""
    flag = field.metadata.get("flag")
    if flag:
        return str(flag)
    name = field.name.replace("_", "-")
    return f"--no-{name}" if field.default is True else f"--{name}"


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def flag_words(say: Callable[[dataclasses.Field[Any], bool], str]) -> dict[str, str]:
    """Each run flag (`--panel`, `--no-web`) and how another interface says it:
    `say(field, off)`, `off` for a `--no-` flag that turns the field off."""
    words: dict[str, str] = {}
    for field in option_fields("serve"):
        flag = flag_of(field)
        words[flag] = say(field, flag.startswith("--no-") and field.default is True)
    return words


def reword(message: str, words: Mapping[str, str]) -> str:
    """`message` (a check's refusal, which names the fix as a CLI flag) with each run
    flag in `words` said as the interface reading it says it."""
    return _FLAG.sub(lambda m: words.get(m.group(0), m.group(0)), message)


def held_type(hint: Any) -> Any:
    """The type a field holds when set (`int | None` holds `int`; `list[str]` itself),
    which picks its flag or input; None when it may hold several (no one fits)."""
    if get_origin(hint) in (Union, types.UnionType):
        kinds = [a for a in get_args(hint) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else None
    return hint

"""Where each `Context` field is offered: the CLI's flags and `fusion serve`'s `fusion`
object (which the MCP tools and the web page's form follow), read from the field's
metadata (see `fusion.core.context`)."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Literal, Union, get_args, get_origin

from fusion.core.context import Context

__all__ = ["Surface", "flag_of", "held_type", "option_fields"]

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


def held_type(hint: Any) -> Any:
    """The type a field holds when set (`int | None` holds `int`; `list[str]` itself),
    which picks its flag or input; None when it may hold several (no one fits)."""
    if get_origin(hint) in (Union, types.UnionType):
        kinds = [a for a in get_args(hint) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else None
    return hint

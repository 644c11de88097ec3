"""Validation of a dataclass's values from its own type hints and field metadata.

`Context` checks itself with `check_fields` when it is built, so a bad value gets
the same one-line `ConfigError` from Python, the CLI, `fusion serve`, LangGraph
server, Studio and a parent graph. A field's range lives in its metadata:
`ge` / `gt` (lower bound, inclusive / exclusive) and `le` (upper bound).
"""

from __future__ import annotations

import dataclasses
import math
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from fusion.core.errors import ConfigError


def check_fields(obj: Any) -> None:
    """Raise `ConfigError` naming the first field whose value does not fit; a tuple
    given for a list field becomes a list."""
    hints = _hints(type(obj))
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        hint = hints[field.name]
        if isinstance(value, tuple) and _is_list(hint):
            value = list(value)
            setattr(obj, field.name, value)
        problem = _problem(value, hint, field.metadata)
        if problem is None and isinstance(value, int | float) and not isinstance(value, bool):
            problem = _out_of_range(value, field.metadata)
        if problem is not None:
            flag = field.metadata.get("flag")
            name = f"{field.name} ({flag})" if flag else field.name
            raise ConfigError(f"{name} is {_show(value)}: {problem}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """A class's resolved type hints, kept: resolving them evaluates every string
    annotation again (22 for `Context`), about a quarter millisecond a request."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _problem(value: Any, hint: Any, metadata: Any) -> str | None:
    alternatives = _alternatives(hint)
    if any(_fits(value, a) for a in alternatives):
        if isinstance(value, float) and not math.isfinite(value):
            return "give a finite number"
        return None
    words = " or ".join(_words(a) for a in alternatives if a is not type(None))
    bounds = _bounds(metadata)
    return f"give {words}" + (f", {bounds}" if bounds else "")


def _fits(value: Any, hint: Any) -> bool:
    if hint is type(None):
        return value is None
    if get_origin(hint) is Literal:
        return any(value == a and type(value) is type(a) for a in get_args(hint))
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, hint)


def _words(hint: Any) -> str:
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(hint))
    if get_origin(hint) is list:
        return f"a list of {_words(get_args(hint)[0]).removeprefix('a ')}s"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a text"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def _out_of_range(value: float, metadata: Any) -> str | None:
    ge, gt, le = metadata.get("ge"), metadata.get("gt"), metadata.get("le")
    if (
        (ge is not None and value < ge)
        or (gt is not None and value <= gt)
        or (le is not None and value > le)
    ):
        bounds = _bounds(metadata)
        return ("use a value " if bounds.startswith("above") else "use ") + bounds
    return None


def _bounds(metadata: Any) -> str:
    ge, gt, le = metadata.get("ge"), metadata.get("gt"), metadata.get("le")
    if ge is not None and le is not None:
        return f"{ge} to {le}"
    if gt is not None and le is not None:
        return f"above {gt}, up to {le}"
    if ge is not None:
        return f"at least {ge}"
    if gt is not None:
        return f"above {gt}"
    if le is not None:
        return f"at most {le}"
    return ""


def _alternatives(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (Union, types.UnionType):
        return tuple(a for arg in get_args(hint) for a in _alternatives(arg))
    return (hint,)


def _is_list(hint: Any) -> bool:
    return any(get_origin(a) is list for a in _alternatives(hint))


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."

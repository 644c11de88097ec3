"""The run options of the MCP tools, derived from `Context` as `fusion serve`'s are.

`ask_panel` and `estimate_cost` take every option `fusion serve`'s `fusion` object
takes, by the same name, typed and described by the `Context` field itself: a new
field reaches MCP clients with no copy here. The SDK builds a tool's input schema
from its signature, so the tool is written with `**options` and given a signature in
which each option is a keyword parameter defaulting to None (the preset's or the
default value).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, get_origin, get_type_hints

from pydantic import Field, TypeAdapter, WithJsonSchema

from fusion.core.context import Context
from fusion.core.options import flag_words, held_type, option_fields, reword

__all__ = ["for_tools", "with_run_options"]

Tool = TypeVar("Tool", bound=Callable[..., Any])


def _described(field: dataclasses.Field[Any]) -> str:
    """The field's description, and its default when it has one to name: a client
    sees `null` as the parameter's default (the preset's or the default applies)."""
    default = field.default
    if default is None or default is dataclasses.MISSING:
        return str(field.metadata["description"])
    shown = default if isinstance(default, str) else json.dumps(default)
    return f"{field.metadata['description']} Default: {shown}."


def _annotation(field: dataclasses.Field[Any], hint: Any) -> Any:
    described = Field(description=_described(field))
    if get_origin(held_type(hint)) is Literal:
        # the schema lists the choices, but a wrong one reaches `Context`, whose refusal
        # is one line (the SDK's own would be a multi-line validation report)
        choices = WithJsonSchema(TypeAdapter(hint | None).json_schema())
        return Annotated[str | None, choices, described]
    return Annotated[hint | None, described]


def _option_parameters() -> list[inspect.Parameter]:
    hints = get_type_hints(Context)
    return [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=_annotation(field, hints[field.name]),
        )
        for field in option_fields("serve")
    ]


def with_run_options(tool: Tool) -> Tool:
    """Publish `tool`'s `**options` as one keyword parameter per run option, placed
    before its other keyword-only parameters (so `background` comes last)."""
    signature = inspect.signature(tool)
    params = list(signature.parameters.values())
    variadic = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    if not variadic:
        raise TypeError(f"{tool.__name__} takes no **options to publish")
    named = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    clash = {p.name for p in named} & {f.name for f in option_fields("serve")}
    if clash:
        raise TypeError(f"{tool.__name__} names run options itself: {sorted(clash)}")
    first_keyword = next(
        (i for i, p in enumerate(named) if p.kind is inspect.Parameter.KEYWORD_ONLY), len(named)
    )
    published = [*named[:first_keyword], *_option_parameters(), *named[first_keyword:]]
    tool.__signature__ = signature.replace(parameters=published)  # type: ignore[attr-defined]
    return tool


@cache
def _arguments() -> dict[str, str]:
    """`--flag` -> the tool argument that sets it."""
    return flag_words(lambda field, off: f"`{field.name}=false`" if off else f"`{field.name}`")


def for_tools(message: str) -> str:
    """A refusal in a tool caller's words: each run flag becomes its argument."""
    return reword(message, _arguments())

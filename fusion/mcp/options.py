"""The run options of the MCP tools, derived from `Context` as `fusion serve`'s are.

`ask_panel` and `estimate_cost` take every option `fusion serve`'s `fusion` object
takes, by the same name, typed and described by the `Context` field itself: a new
field reaches MCP clients with no copy here. The SDK builds a tool's input schema
from its signature, so the tool is written with `**options` and given a signature in
which each option is a keyword parameter defaulting to None (the preset's or the
default value).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_type_hints

from pydantic import Field

from fusion.core.context import Context
from fusion.core.options import option_fields

__all__ = ["RUN_OPTIONS", "with_run_options"]

RUN_OPTIONS = tuple(f.name for f in option_fields("serve"))
"""The option names the tools take, in `Context`'s order."""

Tool = TypeVar("Tool", bound=Callable[..., Any])


def _option_parameters() -> list[inspect.Parameter]:
    hints = get_type_hints(Context)
    parameters = []
    for field in option_fields("serve"):
        described = Field(description=field.metadata["description"])
        parameters.append(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[hints[field.name] | None, described],
            )
        )
    return parameters


def with_run_options(tool: Tool) -> Tool:
    """Publish `tool`'s `**options` as one keyword parameter per run option, placed
    before its other keyword-only parameters (so `background` comes last)."""
    signature = inspect.signature(tool)
    params = list(signature.parameters.values())
    variadic = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    if not variadic:
        raise TypeError(f"{tool.__name__} takes no **options to publish")
    named = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    clash = {p.name for p in named} & set(RUN_OPTIONS)
    if clash:
        raise TypeError(f"{tool.__name__} names run options itself: {sorted(clash)}")
    first_keyword = next(
        (i for i, p in enumerate(named) if p.kind is inspect.Parameter.KEYWORD_ONLY), len(named)
    )
    published = [*named[:first_keyword], *_option_parameters(), *named[first_keyword:]]
    tool.__signature__ = signature.replace(parameters=published)  # type: ignore[attr-defined]
    return tool

"""The run's `Context` as a tool sees it, with the defaults when there is none.

The tools read their options (result count, search depth, character budget) from
the run's context, which LangGraph hands them in `ToolRuntime.context`: a `Context`
in a Fusion run, None when a tool runs outside a graph (tests, other hosts), or a
plain dict when a host passes one without a context schema.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from langgraph.prebuilt import ToolRuntime

from fusion.graph.context import Context

# The type of the tools' `runtime` parameter. Parametrized, so the schema of the
# injected argument knows `context` is a Context (an unparametrized ToolRuntime makes
# pydantic warn when LangChain serializes the call's input).
WebToolRuntime = ToolRuntime[Context | None, Any]

_FIELDS = frozenset(f.name for f in dataclasses.fields(Context))


def context_of(runtime: Any) -> Context:
    """The `Context` of the run `runtime` belongs to (defaults if it has none)."""
    context = getattr(runtime, "context", None)
    if isinstance(context, Context):
        return context
    if isinstance(context, dict):
        return Context(**{k: v for k, v in context.items() if k in _FIELDS})
    return Context()

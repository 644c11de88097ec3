"""The run's `Context` as a tool sees it, with the defaults when there is none.

The tools read their options (result count, search depth, character budget) from
the run's context, which LangGraph hands them in `ToolRuntime.context`: a `Context`
in a Fusion run, None when a tool runs outside a graph (tests, other hosts), or a
plain dict when a host passes one without a context schema.
"""

from __future__ import annotations

from typing import Any

from langgraph.prebuilt import ToolRuntime

from fusion.core.context import Context, context_of

# The type of the tools' `runtime` parameter. Parametrized, so the schema of the
# injected argument knows `context` is a Context (an unparametrized ToolRuntime makes
# pydantic warn when LangChain serializes the call's input).
WebToolRuntime = ToolRuntime[Context | None, Any]

__all__ = ["WebToolRuntime", "context_of"]

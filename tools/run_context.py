"""The run's `Context` as a tool sees it, with the defaults when there is none.

The tools read their options (result count, search depth, character budget) from
the run's context, which a ToolNode hands them in `ToolRuntime.context`: a `Context`
in a Fusion run, or a plain dict when a host passes one without a context schema.
Called directly (`await web_fetch.ainvoke({"url": ...})`, as LangChain users call a
tool), there is no runtime at all and the defaults apply.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg
from langgraph.prebuilt import ToolRuntime

from fusion.core.context import Context, context_of

# The type of the tools' `runtime` parameter. Parametrized, so the schema of the
# injected argument knows `context` is a Context (an unparametrized ToolRuntime makes
# pydantic warn when LangChain serializes the call's input). Optional with a None
# default, so a direct call validates without it; `InjectedToolArg` keeps it out of
# the schema the model sees, and a ToolNode injects it by its name, `runtime`.
WebToolRuntime = Annotated[ToolRuntime[Context | None, Any] | None, InjectedToolArg()]

__all__ = ["WebToolRuntime", "context_of"]

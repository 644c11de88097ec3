"""join: gather the drafts and decide whether the judge has enough to work with."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime

from fusion.core.context import Context, context_of
from fusion.core.state import FusionState
from fusion.core.usage import merge_usages

JUDGE_NODE = "judge"


def drafts_of(state: FusionState) -> list[Any]:
    return [r for r in state.get("responses") or [] if r["status"] == "ok"]


async def join(state: FusionState, runtime: Runtime[Context]) -> dict[str, Any]:
    """With fewer drafts than the quorum, end the run as failed, keeping every draft."""
    context = context_of(runtime)
    drafts = drafts_of(state)
    if len(drafts) >= context.quorum:
        return {}
    return {
        "status": "failed",
        "failure_reason": "insufficient_panel" if drafts else "all_panels_failed",
        "usage": merge_usages(r["usage"] for r in state.get("responses") or []),
    }


async def route_after_join(state: FusionState) -> str:
    return END if state.get("failure_reason") else JUDGE_NODE

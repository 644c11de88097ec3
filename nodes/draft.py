"""The end of a panelist's loop: its last answer becomes a draft with sources and cost,
and the error handler that turns a failed panelist into a typed failure."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.errors import NodeError

from fusion.core.events import DraftDone, PanelistFailed, emit
from fusion.core.failures import classify
from fusion.core.state import (
    FailedModel,
    PanelistInput,
    PanelistState,
    Research,
    Response,
    Source,
)
from fusion.core.usage import finish_reason, total_usage
from fusion.nodes.panelist import branch_seconds, tool_calls_made


def sources_from(messages: Sequence[BaseMessage]) -> list[Source]:
    """Pages the panelist found or read, from its tool results' artifacts; a page it
    read counts once, as read."""
    found: dict[str, Source] = {}
    for message in messages:
        if not isinstance(message, ToolMessage) or message.status == "error":
            continue
        artifact: Any = message.artifact
        if message.name == "web_fetch" and isinstance(artifact, dict) and artifact.get("url"):
            url = str(artifact["url"])
            found[url] = Source(url=url, title=str(artifact.get("title") or ""), via="fetch")
        elif message.name == "web_search" and isinstance(artifact, list):
            for item in artifact:
                url = str(item.get("url") or "")
                if url and url not in found:
                    found[url] = Source(url=url, title=str(item.get("title") or ""), via="search")
    return list(found.values())


def research_sources(research: Research | None) -> list[Source]:
    """The pages `prefetch` read for the panel (read: `fetch`), then its other results."""
    if research is None:
        return []
    read = [Source(url=p["url"], title=p["title"], via="fetch") for p in research["pages"]]
    seen = {source["url"] for source in read}
    found = [
        Source(url=r["url"], title=r["title"], via="search")
        for r in research["results"]
        if r["url"] not in seen
    ]
    return read + found


async def write_draft(state: PanelistState) -> dict[str, Any]:
    """Package the panelist's final answer as its draft (or as a failure if empty)."""
    model_id = state["model"]
    last = state["messages"][-1] if state["messages"] else None
    text = last.text.strip() if isinstance(last, AIMessage) else ""
    usage = total_usage(state["calls"])
    if "active_s" in state:
        seconds = round(branch_seconds(state), 3)
    else:  # a checkpoint from before branch times were kept
        seconds = round(time.time() - state.get("started_at", time.time()), 3)
    errors = [
        m.text[:300]
        for m in state["messages"]
        if isinstance(m, ToolMessage) and m.status == "error"
    ]
    truncated = isinstance(last, AIMessage) and finish_reason(last) == "length"
    response = Response(
        model=model_id,
        status="ok",
        text=text,
        sources=research_sources(state.get("research")) + sources_from(state["messages"]),
        usage=usage,
        cost_usd=usage["cost_usd"],
        seconds=seconds,
        tool_calls=tool_calls_made(state["messages"]),
        tool_errors=errors,
        truncated=truncated,
    )
    failure = state.get("error") or (
        None
        if text
        else FailedModel(
            model=model_id,
            reason="empty_completion",
            message="the model returned no text"
            + (" (cut at its token limit: finish_reason length)" if truncated else ""),
        )
    )
    if failure is not None:
        response["status"] = "timeout" if failure["reason"] == "timeout" else "failed"
        response["text"] = ""
        emit(PanelistFailed(event="panelist_failed", **failure))
        return {"responses": [response], "failed_models": [failure]}
    emit(
        DraftDone(
            event="draft_done",
            model=model_id,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            cost_usd=usage["cost_usd"],
            seconds=seconds,
            tool_calls=response["tool_calls"],
            truncated=truncated,
        )
    )
    return {"responses": [response]}


async def panelist_failed(state: PanelistInput, error: NodeError) -> dict[str, Any]:
    """Error handler of the panelist node: record the failure, let siblings finish."""
    reason, message = classify(error.error)
    model_id = state["model"]
    emit(PanelistFailed(event="panelist_failed", model=model_id, reason=reason, message=message))
    response = Response(
        model=model_id,
        status="timeout" if reason == "timeout" else "failed",
        text="",
        sources=[],
        usage=total_usage([]) | {"cost_usd": None, "cost_complete": False},
        cost_usd=None,
        seconds=0.0,
        tool_calls=0,
        tool_errors=[],
    )
    return {
        "responses": [response],
        "failed_models": [FailedModel(model=model_id, reason=reason, message=message)],
    }

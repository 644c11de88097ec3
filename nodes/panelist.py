"""A panelist's model node: one call of its model, with the web tools while its
tool budget lasts, and the routing that sends tool calls to the tool nodes."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.prebuilt.tool_node import ToolCallWithContext  # not exported: see pyproject.toml
from langgraph.runtime import Runtime
from langgraph.types import Send

from fusion.core.budget import fit_tool_results, spent_share_reached
from fusion.core.context import Context, context_of
from fusion.core.errors import ConfigError
from fusion.core.estimate import completion_cap
from fusion.core.events import PanelistStarted, ToolCall, ToolName, ToolResult, emit
from fusion.core.failures import classify
from fusion.core.plan import resolve_plan
from fusion.core.providers import chat_model
from fusion.core.settings import Settings, load_settings_async
from fusion.core.state import FailedModel, PanelistState, Research
from fusion.core.usage import call_usage
from fusion.core.windows import learn_windows, window
from fusion.nodes import panelist_prompts as prompts
from fusion.tools import WEB_TOOLS
from fusion.tools.prefetch import for_panelist

SEARCH_NODE = "search"
FETCH_NODE = "fetch"
DRAFT_NODE = "draft"
TOOL_NODES = {"web_search": SEARCH_NODE, "web_fetch": FETCH_NODE}


def tool_calls_made(messages: Sequence[BaseMessage]) -> int:
    """Tool calls already executed in this panelist's loop."""
    return sum(isinstance(m, ToolMessage) for m in messages)


def _new_tool_results(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.append(message)
    return results[::-1]


def _system_prompt(context: Context, budget_left: int, research: Research | None = None) -> str:
    if research is not None:
        tools = prompts.RESEARCH.format(sources=for_panelist(research))
    elif budget_left > 0:
        tools = prompts.TOOLS.format(budget=budget_left)
    else:
        tools = prompts.NO_TOOLS
    system = prompts.SYSTEM.format(today=dt.date.today().isoformat(), tools=tools)
    if context.instructions:
        system += prompts.INSTRUCTIONS.format(instructions=context.instructions)
    return system


async def call_model(state: PanelistState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the panelist's model for its next step: tool calls, or its draft."""
    context = context_of(runtime)
    model_id = state["model"]
    loop = state["messages"]
    update: dict[str, Any] = {}
    if not loop:
        emit(PanelistStarted(event="panelist_started", model=model_id))
        update["started_at"] = time.time()
    active = branch_seconds(state)
    for result in _new_tool_results(loop):
        if result.name in TOOL_NODES:
            emit(
                ToolResult(
                    event="tool_result",
                    model=model_id,
                    tool=cast(ToolName, result.name),
                    chars=len(result.text),
                    error=result.status == "error",
                )
            )

    settings = await load_settings_async()
    used = tool_calls_made(loop)
    agentic = context.web and context.research == "agentic"
    budget_left = context.max_tool_calls - used if agentic else 0
    if budget_left > 0 and _share_spent(state, context, settings):
        budget_left = 0  # the run's money, not its tool count, ends the tool loop
    llm = chat_model(
        model_id,
        settings,
        temperature=context.temperature,
        max_completion_tokens=context.max_completion_tokens,
    )
    messages: list[BaseMessage] = [
        SystemMessage(_system_prompt(context, budget_left, state.get("research"))),
        *state["conversation"],
        *loop,
    ]
    if budget_left <= 0 and used:
        messages.append(HumanMessage(prompts.BUDGET_SPENT))
    await learn_windows([model_id], settings)
    room = window(model_id, settings) - completion_cap(context.max_completion_tokens)
    messages = fit_tool_results(messages, room)
    runnable = llm.bind_tools(WEB_TOOLS) if budget_left > 0 else llm
    began = time.monotonic()
    try:
        reply = await runnable.ainvoke(messages)
    except Exception as exc:  # the draft node reports it, with the cost spent so far
        reason, message = classify(exc)
        update |= clock(active + time.monotonic() - began)
        return {**update, "error": FailedModel(model=model_id, reason=reason, message=message)}
    took = time.monotonic() - began
    update |= clock(active + took)
    assert isinstance(reply, AIMessage)
    reply = _within_budget(reply, max(budget_left, 0))
    for call in reply.tool_calls:
        _emit_tool_call(model_id, call["name"], call["args"])
    usage = call_usage(model_id, reply, settings, seconds=took)
    return {**update, "messages": [reply], "calls": [usage]}


_BOOT = uuid.uuid4().hex


def life() -> str:
    """This process (forked children too): time between two steps of a branch counts
    only within one life, so a run resumed after a crash does not count its downtime."""
    return f"{_BOOT}:{os.getpid()}"


def branch_seconds(state: PanelistState) -> float:
    """The branch's own time so far: its calls, plus what ran since its last model
    call (a tool round) if that was in this process."""
    active = state.get("active_s", 0.0)
    if state.get("life") == life() and "mark" in state:
        active += max(time.time() - state["mark"], 0.0)
    return active


def clock(active: float) -> dict[str, Any]:
    return {"active_s": active, "mark": time.time(), "life": life()}


def _emit_tool_call(model_id: str, tool: str, args: dict[str, Any]) -> None:
    """`tool_call` with the search's `query` or the page's `url`, as documented."""
    if tool == "web_search":
        query = str(args.get("query") or "")
        emit(ToolCall(event="tool_call", model=model_id, tool="web_search", query=query))
    elif tool == "web_fetch":
        url = str(args.get("url") or "")
        emit(ToolCall(event="tool_call", model=model_id, tool="web_fetch", url=url))


def _share_spent(state: PanelistState, context: Context, settings: Settings) -> bool:
    """Whether this panelist has spent its share of `budget_usd` (panel + judge).

    The panel size is not in the panelist's state, so it is re-derived from the
    context; a plan that no longer resolves (it did in preflight) counts as one."""
    if context.budget_usd is None:
        return False
    try:
        panel_size = len(resolve_plan(context, settings).panel)
    except ConfigError:
        panel_size = max(len(context.panel), 1)
    return spent_share_reached(state.get("calls", []), context, panel_size)


def _within_budget(reply: AIMessage, budget_left: int) -> AIMessage:
    """Keep only the tool calls the budget allows, so every kept call gets a result."""
    if len(reply.tool_calls) <= budget_left:
        return reply
    kept = reply.tool_calls[:budget_left]
    extra = {k: v for k, v in reply.additional_kwargs.items() if k != "tool_calls"}
    return reply.model_copy(
        update={"tool_calls": kept, "invalid_tool_calls": [], "additional_kwargs": extra}
    )


async def route_after_model(state: PanelistState) -> list[Send] | str:
    """Send each tool call to its tool node (in parallel), or go write the draft."""
    if state.get("error"):
        return DRAFT_NODE
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return [
            Send(
                TOOL_NODES.get(call["name"], SEARCH_NODE),
                ToolCallWithContext(__type="tool_call_with_context", tool_call=call, state=state),
            )
            for call in last.tool_calls
        ]
    return DRAFT_NODE

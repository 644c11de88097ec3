"""fan_out: resolve the plan, check it, and spawn one branch per panelist."""

from __future__ import annotations

import contextlib
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime
from langgraph.types import Overwrite, Send

from fusion.core.context import Context, context_of
from fusion.core.errors import ConfigError
from fusion.core.estimate import (
    CHARS_PER_TOKEN,
    PANELIST_OVERHEAD_TOKENS,
    check_budget,
    check_context_window,
    completion_cap,
    estimate_tokens,
)
from fusion.core.events import ResearchDone, emit
from fusion.core.plan import RunPlan, resolve_plan
from fusion.core.providers import check_credentials
from fusion.core.settings import Settings, load_settings, load_settings_async
from fusion.core.state import FusionState, InputState, PanelistInput, Research
from fusion.core.windows import learn_windows, window
from fusion.nodes.question import conversation_from
from fusion.tools import check_search_ready
from fusion.tools.prefetch import PAGES, prefetch

PANELIST_NODE = "panelist"


def check_run(context: Context, state: InputState) -> tuple[RunPlan, list[BaseMessage]]:
    """Every refusal that must come before a model call: input, plan, context
    window, budget, keys. The CLI and `fuse()` call it up front; fan_out calls it
    again for runs that start in the graph (server, Studio, parent graphs)."""
    settings = load_settings()
    plan = resolve_plan(context, settings)
    conversation = conversation_from(state)
    text = "\n".join(m.text for m in conversation)
    check_context_window(plan, settings, text)
    check_budget(context, plan, settings, text)
    check_credentials(plan.models, settings)
    if wants_search(context):
        check_search_ready(context)
    return plan, conversation


def wants_search(context: Context) -> bool:
    """Whether the run searches the web: its panelists (`agentic`, with tool calls
    allowed), or Fusion once for all of them (`prefetch`)."""
    if not context.web or context.research == "off":
        return False
    return context.research == "prefetch" or context.max_tool_calls > 0


async def fan_out(state: FusionState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Validate the run, gather `prefetch` research, and clear the outputs of any
    earlier run on this thread."""
    context = context_of(runtime)
    settings = await load_settings_async()  # read the config files off the event loop
    with contextlib.suppress(ConfigError):  # check_run says what is wrong with the plan
        planned = resolve_plan(context, settings)
        await learn_windows([*planned.panel, planned.judge], settings)
    plan, conversation = check_run(context, state)
    research = None
    if context.web and context.research == "prefetch":
        research = await _prefetch(conversation[-1].text, plan.panel, context, settings)
    return {
        "question": conversation[-1].text,
        "panel": plan.panel,
        "judge_model": plan.judge,
        "responses": Overwrite([]),
        "failed_models": Overwrite([]),
        "judge_calls": Overwrite([]),
        "answer": None,
        "judge_answer": None,
        "analysis": None,
        "failure_reason": None,
        "failure_message": None,
        "answer_truncated": False,
        "rerun": [],
        "deadline_s": context.deadline_s,
        "research": research,
    }


async def _prefetch(
    question: str, panel: list[str], context: Context, settings: Settings
) -> Research:
    """The one search and its pages, each page cut so that all of them fit the
    smallest panelist's window beside its answer."""
    smallest = min(window(m, settings) for m in panel)
    answer = min(completion_cap(context.max_completion_tokens), smallest // 2)
    room = smallest - answer - PANELIST_OVERHEAD_TOKENS - estimate_tokens(question)
    research = await prefetch(question, context, page_chars=room * CHARS_PER_TOKEN // PAGES)
    emit(
        ResearchDone(
            event="research_done",
            query=research["query"],
            results=len(research["results"]),
            pages=[page["url"] for page in research["pages"]],
            error=research["error"],
        )
    )
    return research


async def spawn_panel(state: FusionState) -> list[Send]:
    """One `Send` per panelist, each bounded by the run's deadline; a resumed failed
    run sends only the panelists listed in `rerun`. Reads state only, so a resume
    can re-enter the graph here without a runtime."""
    conversation = conversation_from(state)
    research = state.get("research")
    sends = []
    for model_id in state.get("rerun") or state["panel"]:
        branch = PanelistInput(model=model_id, conversation=list(conversation))  # type: ignore[arg-type]
        if research is not None:
            branch["research"] = research
        sends.append(Send(PANELIST_NODE, branch, timeout=state.get("deadline_s")))
    return sends

"""fan_out: resolve the plan, check it, and spawn one branch per panelist."""

from __future__ import annotations

import contextlib
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime
from langgraph.types import Overwrite, Send

from fusion.core.context import Context, context_of
from fusion.core.errors import ConfigError
from fusion.core.estimate import check_budget, check_context_window
from fusion.core.plan import RunPlan, resolve_plan
from fusion.core.providers import check_credentials
from fusion.core.settings import load_settings, load_settings_async
from fusion.core.state import FusionState, InputState, PanelistInput
from fusion.core.windows import learn_windows
from fusion.nodes.question import conversation_from
from fusion.tools import check_search_ready

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
    check_credentials([*plan.panel, plan.judge], settings)
    if context.web and context.max_tool_calls > 0:
        check_search_ready(context)
    return plan, conversation


async def fan_out(state: FusionState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Validate the run and clear the outputs of any earlier run on this thread."""
    context = context_of(runtime)
    settings = await load_settings_async()  # read the config files off the event loop
    with contextlib.suppress(ConfigError):  # check_run says what is wrong with the plan
        planned = resolve_plan(context, settings)
        await learn_windows([*planned.panel, planned.judge], settings)
    plan, conversation = check_run(context, state)
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
    }


def spawn_panel(state: FusionState) -> list[Send]:
    """One `Send` per panelist, each bounded by the run's deadline; a resumed failed
    run sends only the panelists listed in `rerun`. Reads state only, so a resume
    can re-enter the graph here without a runtime."""
    conversation = conversation_from(state)
    return [
        Send(
            PANELIST_NODE,
            PanelistInput(model=model_id, conversation=list(conversation)),  # type: ignore[arg-type]
            timeout=state.get("deadline_s"),
        )
        for model_id in state.get("rerun") or state["panel"]
    ]

"""judge: fuse the drafts into one answer with a structured analysis.

Drafts reach the judge anonymised and shuffled; the letters are mapped back to
models here, in code. What the judge could not deliver, the fallback judge is
asked for: the answer and analysis, or only the analysis when the answer already
exists. If no judge answers, the run still returns every paid draft with a typed
`failure_reason`; an answer whose analysis could not be read is kept, and the run
is `degraded`, with no analysis and the reason.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.runtime import Runtime

from fusion.core.analysis import by_model
from fusion.core.capabilities import judge_method_for, learn_capabilities
from fusion.core.context import Context, context_of
from fusion.core.events import JudgeDone, JudgeInputTrimmed, JudgeStarted, emit
from fusion.core.plan import resolve_plan
from fusion.core.settings import load_settings_async
from fusion.core.state import FusionState, JudgeMode, Response, Usage
from fusion.core.usage import merge_usages, total_usage
from fusion.core.windows import learn_windows, window
from fusion.nodes.join import drafts_of
from fusion.nodes.judge_call import JudgeOutcome, run_judge
from fusion.nodes.judge_fit import fit_drafts
from fusion.nodes.judge_input import assign_labels, judge_messages
from fusion.nodes.judge_outcome import with_method_hint
from fusion.nodes.question import conversation_from


async def judge(state: FusionState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the judge (and its fallback) over the drafts; write answer and analysis."""
    context = context_of(runtime)
    settings = await load_settings_async()
    plan = resolve_plan(context, settings)
    drafts: list[Response] = drafts_of(state)
    labelled = assign_labels(drafts, context.seed)
    labels = {label: draft["model"] for label, draft in labelled}
    conversation = conversation_from(state)

    def build(shown: list[tuple[str, Response]], mode: JudgeMode = "single_call") -> list[Any]:
        return judge_messages(
            state["question"], conversation[:-1], shown, context.instructions, mode
        )

    judges = [m for m in (state.get("judge_model") or plan.judge, plan.fallback_judge) if m]
    await learn_windows(judges, settings)
    await learn_capabilities(judges, settings)
    smallest = min(window(m, settings) for m in judges)
    labelled, cut_drafts = fit_drafts(
        labelled, build, smallest, context.judge_max_completion_tokens
    )
    if cut_drafts:
        emit(
            JudgeInputTrimmed(
                event="judge_input_trimmed", model=judges[0], drafts=cut_drafts, window=smallest
            )
        )

    def messages_for(mode: JudgeMode) -> list[BaseMessage]:
        return build(labelled, mode)

    # A run resumed for its missing analysis keeps the answer it already paid for.
    kept = state.get("judge_answer") if state.get("analysis") is None else None
    outcome = JudgeOutcome(answer=AIMessage(kept["text"], id=kept["id"]) if kept else None)
    cut = bool(kept and kept.get("finish_reason") == "length")  # the answer was cut
    calls = []
    for model_id in [state.get("judge_model") or plan.judge, plan.fallback_judge]:
        if model_id is None:
            continue
        method, _why = judge_method_for(model_id, settings, context.judge_method)
        emit(JudgeStarted(event="judge_started", model=model_id, drafts=len(drafts), method=method))
        spec = settings.model_spec(model_id)
        kept_mode, kept_method = outcome.mode, outcome.method
        passed = outcome.answer
        outcome = await run_judge(
            model_id,
            messages_for,
            settings,
            method=method,
            order=context.judge_order,
            one_call=spec.judge_single_call,
            max_completion_tokens=context.judge_max_completion_tokens,
            responses=len(drafts),
            answer=outcome.answer,  # a fallback judge only adds what is missing
        )
        outcome.mode = outcome.mode or kept_mode
        if passed is not None and kept_method is not None:
            outcome.method = kept_method  # the answer's judge says how it was asked
        cut = cut if passed is not None else outcome.truncated  # a kept answer stays as it was
        calls += outcome.calls
        emit(JudgeDone(event="judge_done", model=model_id, status=outcome.failure_reason or "ok"))
        if outcome.answer is not None and outcome.analysis is not None:
            break

    paid = [*(state.get("judge_calls") or []), *calls]  # earlier attempts, if resumed
    # A re-judge pays only for judging: its copied drafts were paid by the source run.
    drafted = [] if state.get("rejudge_of") else state.get("responses") or []
    usage = _run_usage(drafted, total_usage(paid))
    update: dict[str, Any] = {"judge_labels": labels, "judge_calls": calls, "usage": usage}
    if outcome.mode is not None:  # None: only the analysis was added to a kept answer
        update["judge_mode"] = outcome.mode
        update["judge_method"] = outcome.method
    # the provider's words (redacted), and how to ask this judge another way
    message = with_method_hint(outcome.message, outcome.failure_reason, outcome.method)
    update["failure_message"] = message or None
    if outcome.answer is None:
        return update | {
            "status": "failed",
            "failure_reason": outcome.failure_reason or "judge_upstream_error",
        }
    answer = outcome.answer.text.strip() + _missing_note(state)
    draft_cut = any(d.get("truncated") for d in drafts)  # a draft cut at its limit
    complete = outcome.analysis is not None and not state.get("failed_models")
    reason = None if outcome.analysis is not None else outcome.failure_reason
    update |= {
        "status": "ok" if complete and not draft_cut and not cut else "degraded",
        "answer": answer,
        "answer_truncated": cut,
        "judge_answer": {
            "text": outcome.answer.text,
            "id": outcome.answer.id or "",
            "finish_reason": "length" if cut else "stop",
        },
        "analysis": None if outcome.analysis is None else by_model(outcome.analysis, labels),
        "failure_reason": "judge_truncated" if cut else reason,
    }
    if not update["failure_reason"]:
        update["failure_message"] = None
    if state.get("messages"):
        # The streamed answer's ID, so `messages` mode does not send it twice.
        update["messages"] = [AIMessage(answer, name="fusion", id=outcome.answer.id)]
    return update


def _run_usage(responses: list[Response], judge_usage: Usage) -> Usage:
    return merge_usages([*(r["usage"] for r in responses), judge_usage])


def _missing_note(state: FusionState) -> str:
    """Say honestly which panelists the answer could not draw on."""
    failed = state.get("failed_models") or []
    if not failed:
        return ""
    total = len(state.get("panel") or []) or len(state.get("responses") or [])
    who = ", ".join(f"{f['model']} ({f['reason']})" for f in failed)
    return f"\n\n---\n*{len(failed)} of {total} panelists did not answer: {who}.*"

"""One judge model's attempt, in the order and mode the run asks for.

- `analysis_first` (the default), `single_call`: one streamed request whose schema
  puts the analysis before the answer (`judge_verdict.py`).
- `analysis_first`, `two_calls`: the fallback for providers that cannot stream
  structured output or ignore a forced tool choice (llama.cpp's server): the
  analysis as structured output, then the answer, streamed, written from it.
  A model's config entry says so up front (`judge_single_call = false`); a reply in
  prose instead of the forced tool call says so during the run. Either way the run
  says it: a `judge_fallback` event and `judge_mode` `two_calls`.
- `answer_first`: the answer, streamed, then the analysis in the same conversation.

Given an `answer` (an earlier judge's, or a resumed run's), only the analysis is
asked for. Each structured reply that is unusable is repaired once.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI

from fusion.core.capabilities import remember_prose_tool_call
from fusion.core.context import JudgeMethod, JudgeOrder
from fusion.core.events import ANSWER_TAG, JudgeFallback, emit
from fusion.core.providers import chat_model
from fusion.core.settings import Settings
from fusion.core.state import JudgeMode
from fusion.core.usage import call_usage
from fusion.nodes import judge_prompts as prompts
from fusion.nodes.judge_analysis import analyse
from fusion.nodes.judge_cutoff import is_cut
from fusion.nodes.judge_outcome import PROBLEMS, JudgeOutcome, record_error
from fusion.nodes.judge_verdict import TOOL_CHOICE_IGNORED, single_call

__all__ = ["JudgeOutcome", "MessagesFor", "run_judge"]

MessagesFor = Callable[[JudgeMode], list[BaseMessage]]


async def run_judge(
    model_id: str,
    messages_for: MessagesFor,
    settings: Settings,
    *,
    method: JudgeMethod,
    order: JudgeOrder = "analysis_first",
    one_call: bool = True,
    max_completion_tokens: int | None,
    responses: int,
    answer: AIMessage | None = None,
) -> JudgeOutcome:
    """Ask one judge for what is missing: the verdict, or only the analysis when
    `answer` is given. `messages_for(mode)` builds the judge's first messages."""
    outcome = JudgeOutcome(answer=answer, method=method, responses=responses)
    cap = max_completion_tokens
    try:
        if answer is not None:
            conversation = [
                *messages_for("answer_first"),
                AIMessage(answer.text),
                HumanMessage(prompts.ANALYSIS),
            ]
            analyst = _analyst(model_id, settings, cap)
            outcome.analysis = await analyse(
                analyst, model_id, conversation, settings, method, outcome
            )
            return outcome
        if order == "answer_first":
            outcome.mode = "answer_first"
            messages = messages_for("answer_first")
            return await _answer_first(model_id, messages, settings, method, cap, outcome)
        if one_call:
            outcome.mode = "single_call"
            await single_call(
                model_id,
                messages_for("single_call"),
                settings,
                outcome,
                method=method,
                max_completion_tokens=cap,
            )
            if outcome.fallback is None:
                return outcome
            if outcome.fallback == TOOL_CHOICE_IGNORED:
                # a provider that ignores a forced tool call is asked through
                # response_format, now and (remembered per endpoint) in later runs
                method = outcome.method = "json_schema"
                remember_prose_tool_call(model_id, settings)
            emit(
                JudgeFallback(
                    event="judge_fallback",
                    model=model_id,
                    reason=outcome.fallback,
                    mode="two_calls",
                    method=method,
                )
            )
        outcome.mode = "two_calls"
        return await _two_calls(model_id, messages_for("two_calls"), settings, method, cap, outcome)
    except Exception as exc:  # building the model (a missing key, a bad provider)
        record_error(outcome, exc)
        return outcome


async def _answer_first(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    method: JudgeMethod,
    cap: int | None,
    outcome: JudgeOutcome,
) -> JudgeOutcome:
    outcome.answer = await _write_answer(model_id, messages, settings, cap, outcome)
    if outcome.answer is not None:
        conversation = [*messages, AIMessage(outcome.answer.text), HumanMessage(prompts.ANALYSIS)]
        analyst = _analyst(model_id, settings, cap)
        outcome.analysis = await analyse(analyst, model_id, conversation, settings, method, outcome)
    return outcome


async def _two_calls(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    method: JudgeMethod,
    cap: int | None,
    outcome: JudgeOutcome,
) -> JudgeOutcome:
    """The analysis, then the answer written from it. An analysis that could not be
    read does not stop the answer; an unreachable judge does."""
    analyst = _analyst(model_id, settings, cap)
    analysis = await analyse(analyst, model_id, messages, settings, method, outcome)
    if analysis is None and outcome.failure_reason not in PROBLEMS:
        return outcome
    kept = outcome.failure_reason, outcome.message
    conversation = list(messages)
    if analysis is not None:
        conversation.append(AIMessage(analysis.model_dump_json()))
    conversation.append(HumanMessage(prompts.WRITE_ANSWER))
    outcome.analysis = analysis
    outcome.answer = await _write_answer(model_id, conversation, settings, cap, outcome)
    if outcome.answer is not None:
        outcome.failure_reason, outcome.message = kept
    return outcome


async def _write_answer(
    model_id: str,
    messages: list[BaseMessage],
    settings: Settings,
    cap: int | None,
    outcome: JudgeOutcome,
) -> AIMessage | None:
    """The answer as plain Markdown, streamed, or None with the reason recorded."""
    writer = chat_model(model_id, settings, temperature=0, max_completion_tokens=cap, stream=True)
    try:
        reply = await writer.with_config(tags=[ANSWER_TAG]).ainvoke(messages)
    except Exception as exc:
        record_error(outcome, exc)
        return None
    outcome.calls.append(call_usage(model_id, reply, settings))
    if not reply.text.strip():
        outcome.failure_reason = "judge_truncated" if is_cut(reply) else "judge_empty_completion"
        outcome.message = "the judge returned an empty answer"
        return None
    outcome.truncated = is_cut(reply)  # kept, and said: the run is degraded
    return reply


def _analyst(model_id: str, settings: Settings, cap: int | None) -> ChatOpenAI:
    return chat_model(model_id, settings, temperature=0, max_completion_tokens=cap)

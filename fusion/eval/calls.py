"""One run of one config on one prompt: a solo call, or a fused run that is started,
resumed from its checkpoint, or read back finished, by its deterministic thread ID.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from fusion.api import collect, fuse, make_context, stream_run
from fusion.core.context import Context
from fusion.core.failures import classify
from fusion.core.providers import chat_model
from fusion.core.settings import Settings
from fusion.core.usage import call_usage
from fusion.eval.configs import EvalConfig
from fusion.graph.builder import build_graph
from fusion.result import FusionResult
from fusion.runs import is_finished, reopen_failed_run, run_config, saved_context


@dataclass
class Outcome:
    """What a config produced for one prompt; `status` is ok, degraded or failed."""

    status: str
    answer: str
    cost_usd: float | None
    cost_complete: bool = True
    seconds: float = 0.0
    failure: str | None = None
    thread_id: str | None = None
    resumed: bool = False
    failed_models: list[str] = field(default_factory=list)
    judge_cost_usd: float | None = None
    """What judging cost (a fused run's judge calls); None when unknown or no judge."""


def fusion_options(config: EvalConfig, options: dict[str, Any]) -> dict[str, Any]:
    """The `fuse()` arguments of a fusion or self-fusion config."""
    return {
        "preset": config.preset,
        "panel": list(config.panel) or None,
        "judge": config.judge,
        **options,
    }


def fusion_context(config: EvalConfig, options: dict[str, Any]) -> Context:
    return make_context(**fusion_options(config, options))


async def run_solo(
    config: EvalConfig, prompt: str, settings: Settings, options: dict[str, Any]
) -> Outcome:
    """One direct call of the model: no panel, no judge, no tools."""
    llm = chat_model(
        config.model,
        settings,
        temperature=options.get("temperature"),
        max_completion_tokens=options.get("max_completion_tokens"),
    )
    started = time.monotonic()
    try:
        reply = await llm.ainvoke([HumanMessage(prompt)])
    except Exception as exc:  # typed like a panelist's failure
        reason, message = classify(exc)
        seconds = time.monotonic() - started
        failure = f"{reason}: {message}"  # what the refused call cost is not known
        return Outcome("failed", "", None, False, seconds=seconds, failure=failure)
    seconds = time.monotonic() - started
    usage = call_usage(config.model, reply, settings)
    cost = usage["cost_usd"]
    text = reply.text.strip()
    if not text:
        failure = "empty_completion: the model returned no text"
        return Outcome("failed", "", cost, cost is not None, seconds, failure)
    return Outcome("ok", text, cost, cost is not None, seconds)


class FusionCalls:
    """Fused runs checkpointed in the eval's own saver, one thread per (task, config,
    repeat): an interrupted run resumes, a finished one is read back, never re-paid."""

    def __init__(self, saver: BaseCheckpointSaver[Any], *, retry_failed: bool = False) -> None:
        self.saver = saver
        self.graph = build_graph(checkpointer=saver)
        self.retry_failed = retry_failed

    async def run(
        self, config: EvalConfig, prompt: str, thread_id: str, options: dict[str, Any]
    ) -> Outcome:
        started = time.monotonic()
        try:
            result, resumed = await self._result(config, prompt, thread_id, options)
        except Exception as exc:  # an eval keeps going; the row says what broke
            reason, message = classify(exc)
            seconds = time.monotonic() - started
            failure = f"{reason}: {message}"
            return Outcome("failed", "", None, False, seconds, failure, thread_id)
        return _outcome(result, time.monotonic() - started, thread_id, resumed)

    async def _result(
        self, config: EvalConfig, prompt: str, thread_id: str, options: dict[str, Any]
    ) -> tuple[FusionResult, bool]:
        run = run_config(thread_id)
        snapshot = await self.graph.aget_state(run)
        if not snapshot.values and not snapshot.next:
            kwargs = fusion_options(config, options)
            result = await fuse(prompt, checkpointer=self.saver, thread_id=thread_id, **kwargs)
            return result, False
        if is_finished(snapshot):
            values = snapshot.values
            reopened = ""
            if self.retry_failed:
                reopened = await reopen_failed_run(self.graph, run, values)
            if not reopened:
                return FusionResult.from_state(values, thread_id), True
        context = fusion_context(config, options)
        events = stream_run(None, context, self.saver, thread_id, progress=False)
        final = await collect(events, thread_id)
        return final, True

    async def rejudge(self, config: EvalConfig, source: str, thread_id: str) -> Outcome:
        """A `rejudge:` config: judge the base run `source`'s drafts again on the
        thread `thread_id`; started, resumed or read back like a fused run."""
        started = time.monotonic()
        try:
            result, resumed = await self._rejudged(config, source, thread_id)
        except Exception as exc:  # a base run with no draft, a judge that broke...
            reason, message = classify(exc)
            seconds = time.monotonic() - started
            return Outcome("failed", "", None, False, seconds, f"{reason}: {message}", thread_id)
        return _outcome(result, time.monotonic() - started, thread_id, resumed)

    async def _rejudged(
        self, config: EvalConfig, source: str, thread_id: str
    ) -> tuple[FusionResult, bool]:
        from fusion.rejudging import prepare_rejudge, stream_rejudge

        run = run_config(thread_id)
        snapshot = await self.graph.aget_state(run)
        if not (snapshot.values or {}).get("rejudge_of"):  # new, or killed while starting
            options: dict[str, Any] = config.rejudge_options
            rejudging = await prepare_rejudge(
                self.saver, source, new_thread_id=thread_id, **options
            )
            events = stream_rejudge(self.saver, rejudging, progress=False)
            return await collect(events, thread_id), False
        if is_finished(snapshot):
            reopened = ""
            if self.retry_failed:
                reopened = await reopen_failed_run(self.graph, run, snapshot.values)
            if not reopened:
                return FusionResult.from_state(snapshot.values, thread_id), True
        context = await saved_context(self.saver, thread_id)
        events = stream_run(None, context, self.saver, thread_id, progress=False)
        return await collect(events, thread_id), True


def _outcome(result: FusionResult, seconds: float, thread_id: str, resumed: bool) -> Outcome:
    failure = None
    if result.status == "failed":
        failure = result.failure_reason or "failed"
    return Outcome(
        status=result.status,
        answer=result.answer or "",
        cost_usd=result.usage.cost_usd,
        cost_complete=result.usage.cost_complete,
        seconds=seconds,
        failure=failure,
        thread_id=thread_id,
        resumed=resumed,
        failed_models=[f"{f.model}: {f.reason}" for f in result.failed_models],
        judge_cost_usd=judge_cost(result),
    )


def judge_cost(result: FusionResult) -> float | None:
    """What a run's judging cost: a re-judge's whole cost, else the run's cost less
    its drafts'. None when a cost is unknown or no judge was paid."""
    total = result.usage.cost_usd
    if total is None or not result.usage.cost_complete:
        return None
    if result.rejudge_of:
        return total
    drafts = [r.usage.cost_usd for r in result.responses]
    if any(c is None for c in drafts):
        return None
    return max(0.0, total - sum(c or 0.0 for c in drafts))

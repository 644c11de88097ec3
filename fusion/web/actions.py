"""What the page's forms do: ask, follow up, resume, re-judge, estimate.

Each checks everything it can before a model is called (the same `preflight` as
the CLI and the OpenAI endpoint) and raises `ConfigError` with the fix; then the run
goes to `LiveRuns`, which runs it in the server through `fusion.api.stream_run`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from fusion.api import make_context, preflight, run_input, stream_run
from fusion.core.context import Context
from fusion.core.errors import ConfigError, RunBusy
from fusion.core.estimate import CostEstimate, check_context_window, estimate_run
from fusion.core.plan import resolve_plan
from fusion.core.settings import load_settings_async
from fusion.lease import RunLease, take_lease
from fusion.resume import prepare_resume
from fusion.runs import saved_context
from fusion.saver import Saver
from fusion.web.form import options_from
from fusion.web.live import LiveRun, LiveRuns
from fusion.web.store import conversation, load_run

RUNNER = "fusion serve (web page)"
"""Who runs a run, as a refused second runner is told (`fusion.lease`)."""


def prompt_from(form: Mapping[str, str]) -> str:
    prompt = (form.get("prompt") or "").strip()
    if not prompt:
        raise ConfigError("the prompt is empty: type a question")
    return prompt


async def estimate(form: Mapping[str, str]) -> CostEstimate:
    """`fusion estimate` for the form as it stands; calls no model, needs no key."""
    prompt = prompt_from(form)
    context = make_context(**options_from(form))
    settings = await load_settings_async()
    plan = resolve_plan(context, settings)
    check_context_window(plan, settings, prompt)
    return estimate_run(context, plan, settings, prompt)


async def ask(live: LiveRuns, saver: Saver, form: Mapping[str, str]) -> str:
    """Start a run of the form's question; its thread ID."""
    prompt = prompt_from(form)
    context = make_context(**options_from(form))
    await load_settings_async()  # read off the event loop; preflight then uses the cache
    plan = preflight(context, prompt)
    return _start(live, saver, context, plan.panel, plan.judge, prompt, run_input(prompt, None))


async def follow_up(live: LiveRuns, saver: Saver, thread_id: str, question: str) -> str:
    """A new run whose input is the earlier run's conversation plus `question`, with
    the earlier run's options; its thread ID."""
    question = question.strip()
    if not question:
        raise ConfigError("the follow-up question is empty: type a question")
    earlier = await load_run(saver, thread_id)
    context = await saved_context(saver, thread_id)
    messages: list[BaseMessage] = [*conversation(earlier), HumanMessage(question)]
    await load_settings_async()
    plan = preflight(context, None, messages)
    return _start(live, saver, context, plan.panel, plan.judge, question, run_input(None, messages))


async def resume(live: LiveRuns, saver: Saver, thread_id: str) -> str:
    """Continue an interrupted or failed run, as `fusion resume` does (through the same
    `fusion.resume.prepare_resume`): finished panelists are not called again. Returns
    what is retried."""
    current = live.get(thread_id)
    if current is not None and not current.done:
        raise RunBusy("the run is still running: wait for it to finish")
    await saved_context(saver, thread_id)  # an unknown ID is told as such first
    # leased before deciding what to run: a run another replica (or `fusion resume`)
    # is running is refused (409), naming it; the run below holds and releases it
    lease = await take_lease(saver, thread_id, RUNNER)
    try:
        resumption = await prepare_resume(saver, thread_id)
        if resumption.plan is None:
            raise ConfigError("the run has finished and has nothing to retry")
        question = str((await load_run(saver, thread_id)).question)
    except BaseException:
        if lease is not None:
            await lease.release()
        raise
    plan = resumption.plan
    _start(
        live, saver, resumption.context, plan.panel, plan.judge, question, None, thread_id, lease
    )
    return resumption.retrying or "the interrupted steps"


async def rejudge(live: LiveRuns, saver: Saver, thread_id: str) -> str:
    """Judge a run's drafts again as a new run (`fusion rejudge`); its thread ID."""
    from fusion.rejudging import prepare_rejudge, stream_rejudge

    rejudging = await prepare_rejudge(saver, thread_id)
    question = str(rejudging.copied.get("question") or "")
    run = LiveRun(rejudging.thread_id, panel=[], judge=rejudging.plan.judge, question=question)
    live.start(run, stream_rejudge(saver, rejudging))
    return rejudging.thread_id


def _start(
    live: LiveRuns,
    saver: Saver,
    context: Context,
    panel: list[str],
    judge: str,
    question: str,
    payload: dict[str, Any] | None,
    thread_id: str | None = None,
    lease: RunLease | None = None,
) -> str:
    thread_id = thread_id or str(uuid.uuid4())
    run = LiveRun(thread_id=thread_id, panel=list(panel), judge=judge, question=question)
    live.start(run, stream_run(payload, context, saver, thread_id, lease=lease, runner=RUNNER))
    return thread_id

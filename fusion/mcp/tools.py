"""The MCP tools: ask the panel, estimate, read, list, resume and re-judge runs.

Each tool is a thin face over the Python API (`fusion.api`, `fusion.catalog`,
`fusion.resume`): the same checks, the same one-line `ConfigError` messages (sent as
MCP tool errors), the same checkpoints as the CLI, so a run started here can be
shown or resumed with `fusion show` / `fusion resume`, and the reverse.

No `from __future__ import annotations` here: the SDK reads these signatures at
runtime to build each tool's input schema.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from fusion.api import make_context, preflight, run_input, stream_run
from fusion.catalog import RunSummary, read_run, run_summaries
from fusion.core.errors import ConfigError
from fusion.core.estimate import CostEstimate, check_context_window, estimate_run
from fusion.core.plan import resolve_plan
from fusion.core.providers import RECURSION_HEADER
from fusion.core.settings import load_settings_async
from fusion.detach import detached
from fusion.lease import take_lease
from fusion.markdown import run_markdown
from fusion.mcp.options import for_tools, with_run_options
from fusion.mcp.progress import Progress
from fusion.mcp.results import PanelAnswer
from fusion.result import FusionResult
from fusion.resume import prepare_resume
from fusion.runs import db_path, open_checkpointer, saved_context

__all__ = ["PanelTools", "RunList"]

RUNNER = "fusion mcp"
"""Who runs a run, as a refused second runner is told (`fusion.lease`)."""

Question = Annotated[str, Field(description="The question to put to the panel.")]
ThreadId = Annotated[str, Field(description="A run's thread_id, as ask_panel returned it.")]


class RunList(BaseModel):
    """Recent runs, newest first."""

    runs: list[RunSummary]


def _result(answer: PanelAnswer, text: str | None = None) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=answer.summary() if text is None else text)],
        structured_content=answer.model_dump(mode="json"),
    )


def _refuse_nested(ctx: Context[Any, Any]) -> None:
    """Fusion's own model calls carry `X-Fusion-Depth`; a panel model that reaches
    this server again (an agent with Fusion among its MCP tools) must not fuse again."""
    headers = ctx.headers or {}
    depth = next((v for k, v in headers.items() if k.lower() == RECURSION_HEADER.lower()), "")
    if depth.strip() not in ("", "0"):
        raise ToolError(
            f"refusing a nested fusion ({RECURSION_HEADER}: {depth.strip()}): this request "
            "came from a Fusion panel or judge; give its models a real provider"
        )


class PanelTools:
    """The tools, bound to one checkpoint database (`--db`, else `FUSION_DB`)."""

    def __init__(self, db: str | None = None) -> None:
        self._db = db
        self._background: dict[str, asyncio.Task[FusionResult]] = {}

    async def _follow(
        self, events: AsyncIterator[tuple[str, Any]], progress: Progress | None
    ) -> dict[str, Any]:
        final: dict[str, Any] = {}
        # In a task of its own: a cancelled request cancels the run exactly once, and
        # its clean-up (saving finished drafts) is not cut short by the SDK's scope.
        async for kind, data in detached(events):
            if kind == "values":
                final = data
            elif progress is not None and kind == "custom":
                await progress.on_event(data)
            elif progress is not None and kind == "answer":
                await progress.on_answer(data)
        return final

    async def _run(
        self,
        payload: dict[str, Any] | None,
        context: Any,
        thread_id: str,
        progress: Progress | None,
    ) -> FusionResult:
        async with open_checkpointer(db_path(self._db)) as saver:
            events = stream_run(payload, context, saver, thread_id, runner=RUNNER)
            final = await self._follow(events, progress)
        return FusionResult.from_state(final, thread_id)

    @with_run_options
    async def ask_panel(
        self,
        question: Question,
        ctx: Context[Any, Any],
        *,
        background: Annotated[
            bool,
            Field(
                description="Return at once with the thread_id and let the run go on; "
                "poll get_run for the result. For clients that time out long calls."
            ),
        ] = False,
        **options: Any,
    ) -> Annotated[CallToolResult, PanelAnswer]:
        """Ask a panel of LLMs (each may search and read the web) and get one answer,
        written by a judge that weighs their agreements and contradictions. Returns the
        answer as text, and the analysis, each model's status and cost, and the
        thread_id as structured content. The run is checkpointed: if it is cut off,
        resume_run finishes it without paying again for what was done."""
        _refuse_nested(ctx)
        try:
            context = make_context(**options)
            preflight(context, question)
        except ConfigError as exc:
            raise ToolError(for_tools(str(exc))) from exc
        thread_id = str(uuid.uuid4())
        payload = run_input(question.strip(), None)
        if background:
            task = asyncio.ensure_future(self._run(payload, context, thread_id, None))
            self._background[thread_id] = task
            task.add_done_callback(lambda _: self._background.pop(thread_id, None))
            return _result(PanelAnswer(thread_id=thread_id, question=question, status="running"))
        result = await self._run(payload, context, thread_id, Progress(ctx))
        answer = PanelAnswer.of(result)
        answer.question = question
        return _result(answer)

    async def resume_run(
        self, thread_id: ThreadId, ctx: Context[Any, Any]
    ) -> Annotated[CallToolResult, PanelAnswer]:
        """Continue a run that was interrupted or failed: finished panelists are not
        called again; a failed run retries only its failed panelists, or only its judge."""
        _refuse_nested(ctx)
        if thread_id in self._background:
            raise ToolError(f"run {thread_id} is still running here: poll it with get_run")
        async with open_checkpointer(db_path(self._db)) as saver:
            lease = None
            try:
                await saved_context(saver, thread_id)  # an unknown ID is told as such first
                # leased before deciding what to run: one runner per run, on any replica
                lease = await take_lease(saver, thread_id, RUNNER)
                resumption = await prepare_resume(saver, thread_id)
                if resumption.plan is None:
                    return _result(PanelAnswer.of_state(resumption.finished or {}, thread_id))
                events = stream_run(None, resumption.context, saver, thread_id, lease=lease)
                final = await self._follow(events, Progress(ctx))
            except ConfigError as exc:
                raise ToolError(for_tools(str(exc))) from exc
            finally:
                if lease is not None:
                    await lease.release()
        return _result(PanelAnswer.of_state(final, thread_id))

    async def rejudge_run(
        self,
        thread_id: Annotated[
            str, Field(description="The run whose drafts to judge again, as ask_panel returned it.")
        ],
        ctx: Context[Any, Any],
        judge: Annotated[
            str | None,
            Field(description="The judge model ID for the new run; default: the run's judge."),
        ] = None,
    ) -> Annotated[CallToolResult, PanelAnswer]:
        """Judge a stored run's drafts again, without calling any panelist: a new run
        (its own thread_id, rejudge_of naming the source) that pays only for judging.
        Works on a finished run and on one whose judge failed; the source is unchanged."""
        from fusion.rejudging import prepare_rejudge, stream_rejudge

        _refuse_nested(ctx)
        try:
            async with open_checkpointer(db_path(self._db)) as saver:
                rejudging = await prepare_rejudge(saver, thread_id, judge=judge)
                events = stream_rejudge(saver, rejudging)
                final = await self._follow(events, Progress(ctx))
        except ConfigError as exc:
            raise ToolError(for_tools(str(exc))) from exc
        return _result(PanelAnswer.of_state(final, rejudging.thread_id))

    async def get_run(self, thread_id: ThreadId) -> Annotated[CallToolResult, PanelAnswer]:
        """A run's answer, analysis, every draft with its sources, failures and cost,
        as Markdown; its status and costs as structured content."""
        try:
            async with open_checkpointer(db_path(self._db)) as saver:
                stored = await read_run(saver, thread_id)
        except ConfigError as exc:
            if thread_id in self._background:  # started, no checkpoint written yet
                return _result(PanelAnswer(thread_id=thread_id, status="running"))
            raise ToolError(for_tools(str(exc))) from exc
        answer = PanelAnswer.stored(stored)
        if thread_id in self._background:
            answer.status = "running"
            return _result(answer)
        return _result(answer, run_markdown(stored.result, stored.question))

    async def list_runs(
        self,
        limit: Annotated[int, Field(ge=1, le=500, description="How many runs, newest first.")] = 20,
    ) -> RunList:
        """Recent runs in Fusion's checkpoint database, with status, cost and question."""
        async with open_checkpointer(db_path(self._db)) as saver:
            return RunList(runs=await run_summaries(saver, limit))

    @with_run_options
    async def estimate_cost(
        self,
        question: Question,
        **options: Any,
    ) -> Annotated[CallToolResult, CostEstimate]:
        """What ask_panel with the same arguments may cost, as a low-high dollar range
        per model, without calling any model."""
        try:
            context = make_context(**options)
            if not question.strip():
                raise ConfigError("the question is empty: give a question")
            settings = await load_settings_async()
            plan = resolve_plan(context, settings)
            check_context_window(plan, settings, question)
            estimate = estimate_run(context, plan, settings, question)
        except ConfigError as exc:
            raise ToolError(for_tools(str(exc))) from exc
        return CallToolResult(
            content=[TextContent(type="text", text=f"expected cost: {estimate.range_text()}")],
            structured_content=estimate.model_dump(mode="json"),
        )

    async def run_report(self, thread_id: str) -> str:
        """The run as Markdown, for the `fusion://runs/{thread_id}` resource."""
        async with open_checkpointer(db_path(self._db)) as saver:
            stored = await read_run(saver, thread_id)
        return run_markdown(stored.result, stored.question)

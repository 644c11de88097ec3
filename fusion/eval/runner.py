"""Run tasks x configs x repeats with bounded concurrency, and pick up where a killed
eval stopped: rows already in results.jsonl are not run again (nor paid again), and
fused runs cut short resume from their checkpoints in DIR/runs.sqlite.
"""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from fusion.api import preflight
from fusion.core.errors import ConfigError
from fusion.core.plan import resolve_plan
from fusion.core.providers import check_credentials
from fusion.core.settings import Settings, load_settings
from fusion.eval.calls import FusionCalls, Outcome, fusion_context, run_solo
from fusion.eval.configs import EvalConfig
from fusion.eval.grading import Grade, grade_verifiable
from fusion.eval.progress import EvalProgress
from fusion.eval.results import Key, ResultRow, ResultsFile
from fusion.eval.rubric import grade_rubric
from fusion.eval.tasks import Task, digest
from fusion.runs import open_checkpointer

RESULTS = "results.jsonl"
CHECKPOINTS = "runs.sqlite"


@dataclass
class EvalPlan:
    """What to run; `options` are `fuse()` options shared by every fused config."""

    tasks: list[Task]
    configs: list[EvalConfig]
    out: Path
    repeats: int = 1
    concurrency: int = 4
    grader: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    retry_failed: bool = False


@dataclass(frozen=True)
class Item:
    """One run to make: a task, a config and a repeat number."""

    task: Task
    config: EvalConfig
    repeat: int
    run_key: str
    base: Item | None = None
    """A `rejudge:` config's item: the base config's run of the same task and repeat."""

    @property
    def key(self) -> Key:
        return (self.task.id, self.config.name, self.repeat)

    @property
    def thread_id(self) -> str:
        return f"eval:{self.config.name}:{self.task.id[:40]}:{self.repeat}:{self.run_key}"


def plan_items(plan: EvalPlan) -> list[Item]:
    """Every run, repeat by repeat and task by task, configs side by side; a
    `rejudge:` item points at its base item (and its key covers the base's)."""
    items: list[Item] = []
    for repeat in range(plan.repeats):
        for task in plan.tasks:
            made: dict[str, Item] = {}
            for config in sorted(plan.configs, key=lambda c: c.kind == "rejudge"):
                base = made.get(config.base or "")
                spec = config.spec if base is None else f"{config.spec} on {base.run_key}"
                key = digest(task.prompt_text, spec, plan.options, repeat)
                made[config.name] = Item(task, config, repeat, key, base)
            items += [made[c.name] for c in plan.configs]
    return items


def grading_key(task: Task, grader: str | None) -> str:
    return digest(task.grading_key, grader if task.method == "rubric" else None)


def check_plan(plan: EvalPlan, settings: Settings) -> None:
    """Every refusal that must come before the first call (exit 2 in the CLI)."""
    if plan.repeats < 1:
        raise ConfigError(f"--repeats is {plan.repeats}: give 1 or more")
    if plan.out.exists() and not plan.out.is_dir():
        raise ConfigError(f"--out {plan.out} is a file: give a folder for the results")
    if plan.concurrency < 1:
        raise ConfigError(f"--concurrency is {plan.concurrency}: give 1 or more")
    rubric = [t for t in plan.tasks if t.method == "rubric"]
    if rubric and not plan.grader:
        first = rubric[0]
        raise ConfigError(
            f"{len(rubric)} task(s) are graded by rubric (first: {first.id!r}, line "
            f"{first.line}): add --grader MODEL"
        )
    if rubric and plan.grader:
        check_credentials([plan.grader], settings)
    longest = max((t.prompt_text for t in plan.tasks), key=len)
    by_name = {c.name: c for c in plan.configs}
    for config in plan.configs:
        if config.kind == "solo":
            check_credentials([config.model], settings)
        elif config.kind == "rejudge":
            _check_rejudge(config, by_name[config.base or ""], plan.options, settings)
        else:
            try:
                preflight(fusion_context(config, plan.options), longest)
            except ConfigError as exc:
                raise ConfigError(f"--config {config.name}: {exc}") from None


def _check_rejudge(
    config: EvalConfig, base: EvalConfig, options: dict[str, Any], settings: Settings
) -> None:
    """The judge options and keys of a `rejudge:` config, on its base's context."""
    given: dict[str, Any] = config.rejudge_options
    if "judge" in given and "fallback_judge" not in given:
        given["fallback_judge"] = None
    try:
        context = dataclasses.replace(fusion_context(base, options), **given)
        judged = resolve_plan(context, settings)
        check_credentials([m for m in (judged.judge, judged.fallback_judge) if m], settings)
    except ConfigError as exc:
        raise ConfigError(f"--config {config.name}: {exc}") from None


def todo(plan: EvalPlan, items: list[Item], done: dict[Key, ResultRow]) -> list[Item]:
    """Items without a usable row (or, with `retry_failed`, with a failed one)."""
    pending = []
    for item in items:
        row = done.get(item.key)
        fresh = row is not None and row.run_key == item.run_key
        graded = (
            fresh and row is not None and row.grading_key == grading_key(item.task, plan.grader)
        )
        if not graded or (plan.retry_failed and row is not None and row.failed):
            pending.append(item)
    return pending


async def run_eval(plan: EvalPlan, console: Console) -> list[ResultRow]:
    """Run what is missing; return the current row of every item."""
    settings = load_settings()
    check_plan(plan, settings)
    items = plan_items(plan)
    results = ResultsFile(plan.out / RESULTS)
    done = results.load()
    pending = todo(plan, items, done)
    if not console.is_terminal:
        console.print(
            f"eval: {len(items)} runs ({len(plan.tasks)} tasks x {len(plan.configs)} configs "
            f"x {plan.repeats} repeats), {len(items) - len(pending)} already done",
            highlight=False,
        )
    current = {i.key: done[i.key] for i in items if i.key in done}
    again = {i.key for i in pending}
    spent = sum(r.cost_usd or 0.0 for k, r in current.items() if k not in again)
    limit = asyncio.Semaphore(plan.concurrency)
    async with AsyncExitStack() as stack:
        fusion: FusionCalls | None = None
        if any(i.config.kind != "solo" for i in pending):
            saver = await stack.enter_async_context(open_checkpointer(plan.out / CHECKPOINTS))
            fusion = FusionCalls(saver, retry_failed=plan.retry_failed)
        progress = stack.enter_context(
            EvalProgress(console, len(items), len(items) - len(pending), spent)
        )
        stack.callback(results.close)

        finished = {i.key: asyncio.Event() for i in pending}

        async def one(item: Item) -> None:
            if item.base is not None and item.base.key in finished:
                await finished[item.base.key].wait()  # its drafts first
            try:
                async with limit:
                    row = await _run_item(plan, item, done.get(item.key), settings, fusion)
            finally:
                finished[item.key].set()
            results.append(row)
            current[item.key] = row
            progress.advance(row.cost_usd, failed=row.failed)

        await asyncio.gather(*(one(item) for item in pending))
    return [current[i.key] for i in items if i.key in current]


async def _run_item(
    plan: EvalPlan,
    item: Item,
    previous: ResultRow | None,
    settings: Settings,
    fusion: FusionCalls | None,
) -> ResultRow:
    task, config = item.task, item.config
    retry = plan.retry_failed and previous is not None and previous.status == "failed"
    if previous is not None and previous.run_key == item.run_key and not retry:
        # the run is paid for: only its grade is missing, stale or failed
        grade = await _grade(plan, task, previous.answer, previous.status, settings)
        return previous.model_copy(update=_grade_fields(plan, task, grade))
    if config.kind == "solo":
        outcome = await run_solo(config, task.prompt_text, settings, plan.options)
    elif item.base is not None:
        assert fusion is not None
        outcome = await fusion.rejudge(config, item.base.thread_id, item.thread_id)
    else:
        assert fusion is not None
        outcome = await fusion.run(config, task.prompt_text, item.thread_id, plan.options)
    grade = await _grade(plan, task, outcome.answer, outcome.status, settings)
    return _row(plan, item, outcome, grade)


async def _grade(plan: EvalPlan, task: Task, answer: str, status: str, settings: Settings) -> Grade:
    if status == "failed" or not answer.strip():
        return Grade(0.0, "no answer")
    if task.method == "rubric":
        assert plan.grader is not None
        return await grade_rubric(task, answer, plan.grader, settings)
    return grade_verifiable(task, answer)


def _grade_fields(plan: EvalPlan, task: Task, grade: Grade) -> dict[str, Any]:
    rubric = task.method == "rubric"
    return {
        "grading_key": grading_key(task, plan.grader),
        "score": grade.score,
        "grade": grade.detail,
        "extracted": grade.extracted,
        "grade_error": grade.error,
        "grader": plan.grader if rubric else None,
        "grader_cost_usd": grade.cost_usd,
    }


def _row(plan: EvalPlan, item: Item, outcome: Outcome, grade: Grade) -> ResultRow:
    return ResultRow(
        task=item.task.id,
        config=item.config.name,
        spec=item.config.spec,
        kind=item.config.kind,
        repeat=item.repeat,
        run_key=item.run_key,
        status=outcome.status,
        answer=outcome.answer,
        cost_usd=outcome.cost_usd,
        cost_complete=outcome.cost_complete,
        seconds=round(outcome.seconds, 3),
        failure=outcome.failure,
        failed_models=outcome.failed_models,
        thread_id=outcome.thread_id,
        resumed=outcome.resumed,
        judge_cost_usd=outcome.judge_cost_usd,
        **_grade_fields(plan, item.task, grade),
    )

"""Per-config figures: score with a 95% bootstrap interval over tasks, cost, latency,
failures, and the lift over the best solo config with its cost ratio.

Repeats of a task are averaged first, so every task weighs the same. Bootstraps are
seeded, so the same results always give the same intervals. Pure Python: no numpy.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from fusion.eval.configs import EvalConfig
from fusion.eval.results import ResultRow

RESAMPLES = 2000
SEED = 0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 to 100), interpolating linearly between ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def bootstrap_ci(
    values: Sequence[float], *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling the values)."""
    if not values:
        raise ValueError("bootstrap of no values")
    if len(values) == 1:
        return values[0], values[0]
    rng = random.Random(seed)
    means = [mean(rng.choices(values, k=len(values))) for _ in range(resamples)]
    tail = (1 - level) / 2 * 100
    return percentile(means, tail), percentile(means, 100 - tail)


@dataclass
class ConfigSummary:
    """What a config scored and cost; `lift` and `cost_ratio` are against `Summary.best_solo`."""

    name: str
    spec: str
    kind: str
    per_task: dict[str, float]
    runs: int
    score: float
    ci: tuple[float, float]
    cost_per_task: float | None
    cost_total: float | None
    cost_complete: bool
    p50_s: float
    p95_s: float
    failures: int
    degraded: int
    lift: float | None = None
    lift_ci: tuple[float, float] | None = None
    cost_ratio: float | None = None
    judge_cost_per_task: float | None = None
    """What judging cost per task (mean over runs whose judge cost is known)."""


@dataclass
class JudgeComparison:
    """A `rejudge:` config against its base: two judges on the same drafts."""

    name: str
    base: str
    tasks: int
    difference: float
    """Mean over tasks of the re-judged score minus the base's (paired)."""
    ci: tuple[float, float]
    judge_cost_per_task: float | None
    base_judge_cost_per_task: float | None


@dataclass
class Summary:
    configs: list[ConfigSummary]
    best_solo: str | None
    grader_cost: float | None
    tasks: int
    runs: int
    by_name: dict[str, ConfigSummary] = field(default_factory=dict)
    judges: list[JudgeComparison] = field(default_factory=list)


def summarise(configs: list[EvalConfig], rows: list[ResultRow], *, seed: int = SEED) -> Summary:
    """Figures for each config that has results, best first (ties: cheaper first)."""
    by_config: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_config[row.config].append(row)
    summaries = [_config(c, by_config[c.name], seed) for c in configs if by_config.get(c.name)]
    summaries.sort(key=lambda s: (-s.score, _cost_key(s)))
    solos = [s for s in summaries if s.kind == "solo"]
    best = solos[0] if solos else None
    if best is not None:
        for summary in summaries:
            _lift(summary, best, seed)
    grader_costs = [r.grader_cost_usd for r in rows if r.grader_cost_usd is not None]
    by_name = {s.name: s for s in summaries}
    judges = [
        _judges(by_name[c.name], by_name[c.base], seed)
        for c in configs
        if c.kind == "rejudge" and c.name in by_name and c.base in by_name
    ]
    return Summary(
        configs=summaries,
        best_solo=best.name if best else None,
        grader_cost=sum(grader_costs) if grader_costs else None,
        tasks=len({r.task for r in rows}),
        runs=len(rows),
        by_name=by_name,
        judges=[j for j in judges if j is not None],
    )


def _judges(rejudged: ConfigSummary, base: ConfigSummary, seed: int) -> JudgeComparison | None:
    """The paired score difference of two judges over the tasks both judged."""
    common = [t for t in rejudged.per_task if t in base.per_task]
    if not common:
        return None
    diffs = [rejudged.per_task[t] - base.per_task[t] for t in common]
    return JudgeComparison(
        name=rejudged.name,
        base=base.name,
        tasks=len(common),
        difference=mean(diffs),
        ci=bootstrap_ci(diffs, seed=seed),
        judge_cost_per_task=rejudged.judge_cost_per_task,
        base_judge_cost_per_task=base.judge_cost_per_task,
    )


def _config(config: EvalConfig, rows: list[ResultRow], seed: int) -> ConfigSummary:
    scores: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        scores[row.task].append(row.score)
    per_task = {task: mean(values) for task, values in scores.items()}
    task_scores = list(per_task.values())
    costs = [r.cost_usd for r in rows if r.cost_usd is not None]
    complete = all(r.cost_usd is not None and r.cost_complete for r in rows)
    seconds = [r.seconds for r in rows]
    judging = [r.judge_cost_usd for r in rows if r.judge_cost_usd is not None]
    return ConfigSummary(
        name=config.name,
        spec=config.spec,
        kind=config.kind,
        per_task=per_task,
        runs=len(rows),
        score=mean(task_scores),
        ci=bootstrap_ci(task_scores, seed=seed),
        cost_per_task=sum(costs) / len(costs) if costs else None,
        cost_total=sum(costs) if costs else None,
        cost_complete=complete,
        p50_s=percentile(seconds, 50),
        p95_s=percentile(seconds, 95),
        failures=sum(1 for r in rows if r.failed),
        degraded=sum(1 for r in rows if r.status == "degraded"),
        judge_cost_per_task=sum(judging) / len(judging) if judging else None,
    )


def _lift(summary: ConfigSummary, best: ConfigSummary, seed: int) -> None:
    """Score difference over the tasks both configs ran (paired bootstrap interval)."""
    common = [t for t in summary.per_task if t in best.per_task]
    if not common:
        return
    diffs = [summary.per_task[t] - best.per_task[t] for t in common]
    summary.lift = mean(diffs)
    summary.lift_ci = bootstrap_ci(diffs, seed=seed)
    if summary.kind == "rejudge":  # it paid only for judging: no like-for-like ratio
        return
    if summary.cost_per_task is not None and best.cost_per_task:
        summary.cost_ratio = summary.cost_per_task / best.cost_per_task


def _cost_key(summary: ConfigSummary) -> float:
    return summary.cost_per_task if summary.cost_per_task is not None else math.inf

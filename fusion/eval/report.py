"""`DIR/report.md`: the configs side by side (score and interval, lift over the best
solo config, cost, latency, failures), then every task's grades and answers."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from fusion.eval.results import ResultRow
from fusion.eval.runner import EvalPlan
from fusion.eval.stats import ConfigSummary, Summary

ANSWER_CHARS = 160
PROMPT_CHARS = 240


def money(value: float | None, complete: bool = True) -> str:
    """Dollars with enough digits for fractions of a cent; `n/a` when unknown."""
    if value is None:
        return "n/a"
    text = "$0" if value == 0 else f"${value:.5f}" if value < 0.01 else f"${value:.4f}"
    return text if complete else f"≥{text}"


def cell(text: str, limit: int | None = None) -> str:
    """Text safe in a Markdown table cell, cut to `limit` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat.replace("|", "\\|")


def signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def write_report(
    path: Path, plan: EvalPlan, summary: Summary, rows: list[ResultRow], picture: str | None
) -> None:
    path.write_text(render_report(plan, summary, rows, picture), encoding="utf-8")


def render_report(
    plan: EvalPlan, summary: Summary, rows: list[ResultRow], picture: str | None
) -> str:
    lines = ["# Fusion eval", "", _header(plan, summary), "", "## Configs", ""]
    lines += _config_table(summary)
    if summary.judges:
        lines += ["", "## Judges compared on the same drafts", ""]
        lines += _judge_table(summary)
    if picture:
        lines += ["", f"![score against cost per task]({picture})"]
    lines += ["", "## Per task", ""]
    lines += _task_table(plan, summary)
    lines += ["", "## Answers", ""]
    lines += _answers(plan, summary, rows)
    return "\n".join(lines) + "\n"


def _header(plan: EvalPlan, summary: Summary) -> str:
    methods = Counter(t.method for t in plan.tasks)
    kinds = ", ".join(f"{n} {m}" for m, n in sorted(methods.items()))
    parts = [
        f"{len(plan.tasks)} tasks ({kinds})",
        f"{len(plan.configs)} configs",
        f"{plan.repeats} repeat{'s' if plan.repeats > 1 else ''}",
        f"{summary.runs} runs graded",
    ]
    if plan.grader:
        parts.append(f"rubric grader `{plan.grader}` ({money(summary.grader_cost)}, not counted)")
    if plan.options.get("web") is False:
        parts.append("web tools off")
    return " · ".join(parts) + "."


def _config_table(summary: Summary) -> list[str]:
    best = summary.best_solo
    lift_head = f"lift vs `{best}` (95% CI)" if best else "lift"
    lines = [
        "Best first. Score: mean over tasks (repeats averaged first), with a 95% bootstrap "
        "interval over tasks. "
        + (
            f"Lift: score minus that of `{best}`, the best solo config, paired over tasks; "
            "cost ratio: cost per task over its cost per task."
            if best
            else "No `solo:` config was run, so there is no lift to report: add one "
            "(e.g. `--config solo=solo:vendor/model`)."
        ),
        "",
        f"| config | spec | score | 95% CI | {lift_head} | cost ratio | cost / task "
        "| total cost | p50 s | p95 s | failures |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in summary.configs:
        lines.append(
            f"| {cell(s.name)} | `{cell(s.spec)}` | {s.score:.3f} | {s.ci[0]:.3f} to {s.ci[1]:.3f} "
            f"| {_lift(s)} | {_ratio(s)} | {money(s.cost_per_task, s.cost_complete)} "
            f"| {money(s.cost_total, s.cost_complete)} | {s.p50_s:.1f} | {s.p95_s:.1f} "
            f"| {s.failures}{_degraded(s)} |"
        )
    return lines


def _judge_table(summary: Summary) -> list[str]:
    lines = [
        "Each `rejudge:` config judged its base config's drafts again, calling no "
        "panelist: the difference is its score minus the base's, paired over tasks, with "
        "a 95% bootstrap interval; its cost is judging only.",
        "",
        "| config | spec | drafts of | tasks | difference (95% CI) "
        "| judge cost / task | base's judge cost / task |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for j in summary.judges:
        spec = summary.by_name[j.name].spec
        lines.append(
            f"| {cell(j.name)} | `{cell(spec)}` | {cell(j.base)} | {j.tasks} "
            f"| {signed(j.difference)} ({signed(j.ci[0])} to {signed(j.ci[1])}) "
            f"| {money(j.judge_cost_per_task)} | {money(j.base_judge_cost_per_task)} |"
        )
    return lines


def _lift(s: ConfigSummary) -> str:
    if s.lift is None or s.lift_ci is None:
        return "n/a"
    return f"{signed(s.lift)} ({signed(s.lift_ci[0])} to {signed(s.lift_ci[1])})"


def _ratio(s: ConfigSummary) -> str:
    return "n/a" if s.cost_ratio is None else f"{s.cost_ratio:.2f}x"


def _degraded(s: ConfigSummary) -> str:
    return f" ({s.degraded} degraded)" if s.degraded else ""


def _task_table(plan: EvalPlan, summary: Summary) -> list[str]:
    names = [s.name for s in summary.configs]
    lines = [
        "Score per task (mean over repeats).",
        "",
        "| task | graded by | " + " | ".join(cell(n) for n in names) + " |",
        "| --- | --- |" + " ---: |" * len(names),
    ]
    for task in plan.tasks:
        scores = [summary.by_name[n].per_task.get(task.id) for n in names]
        shown = ["" if v is None else f"{v:.2f}" for v in scores]
        lines.append(f"| {cell(task.id)} | {task.method} | " + " | ".join(shown) + " |")
    return lines


def _answers(plan: EvalPlan, summary: Summary, rows: list[ResultRow]) -> list[str]:
    by_task: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_task[row.task].append(row)
    order = {s.name: i for i, s in enumerate(summary.configs)}
    lines: list[str] = []
    for task in plan.tasks:
        task_rows = sorted(
            by_task.get(task.id, []), key=lambda r: (order.get(r.config, 0), r.repeat)
        )
        if not task_rows:
            continue
        prompt = cell(task.prompt, PROMPT_CHARS)
        lines += [f"### {cell(task.id)} ({task.method})", "", f"> {prompt}", ""]
        lines += [
            "| config | repeat | score | grade | final answer | answer |",
            "| --- | ---: | ---: | --- | --- | --- |",
        ]
        for row in task_rows:
            grade = row.grade if row.grade_error is None else f"{row.grade}: {row.grade_error}"
            answer = row.answer or f"(failed: {row.failure})"
            lines.append(
                f"| {cell(row.config)} | {row.repeat} | {row.score:.2f} | {cell(grade, 80)} "
                f"| {cell(row.extracted, 60)} | {cell(answer, ANSWER_CHARS)} |"
            )
        lines.append("")
    return lines

"""`DIR/report.png`: score against cost per task, one labelled point per config with
its 95% interval as error bars, so the trade-off is seen at a glance. When some
config's cost is unknown (local models have no price), it is score against seconds
per task (p50) instead, so every config is still shown.

matplotlib (the `eval` extra) is imported here only, and drawn without pyplot (the
Agg canvas, no display, no global state).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fusion.core.errors import FusionError
from fusion.eval.stats import ConfigSummary, Summary

COLOURS = {"solo": "#4C72B0", "fusion": "#DD8452", "self": "#55A868", "rejudge": "#8172B3"}
KIND_LABELS = {
    "solo": "solo model",
    "fusion": "fusion panel",
    "self": "self-fusion",
    "rejudge": "re-judged drafts (judging cost only)",
}
LOG_SPAN = 10.0


class PlotUnavailable(FusionError):
    """matplotlib is not installed."""


def write_plot(path: Path, summary: Summary, title: str = "") -> None:
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    except ImportError:
        raise PlotUnavailable(
            "no report.png: matplotlib is missing (pip install 'fusion-panel[eval]')"
        ) from None
    shown = summary.configs
    by_cost = all(s.cost_per_task is not None for s in shown)
    x = _cost if by_cost else _seconds
    figure = Figure(figsize=(8, 5), dpi=120)
    ax = figure.subplots()
    for kind in COLOURS:
        if any(s.kind == kind for s in shown):
            ax.plot([], [], "o", color=COLOURS[kind], label=KIND_LABELS[kind])
    best = summary.by_name.get(summary.best_solo or "")
    if best is not None:
        ax.axhline(best.score, ls="--", lw=0.8, color="grey", label=f"best solo ({best.name})")
    for i, s in enumerate(sorted(shown, key=x)):
        _point(ax, s, x(s), right=i % 2 == 0)
    values = [x(s) for s in shown if x(s) > 0]
    if values and max(values) / min(values) > LOG_SPAN:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    label = "cost per task (USD)" if by_cost else "seconds per task (p50; some costs unknown)"
    if by_cost:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: dollars(v)))
    ax.set_xlabel(label + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel("score (mean over tasks, 95% CI)")
    ax.set_ylim(-0.03, 1.08)
    ax.margins(x=0.15)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title or "Score against cost per task")
    unknown = [s.name for s in summary.configs if s.cost_per_task is None]
    if unknown:
        figure.text(0.01, 0.01, "cost unknown: " + ", ".join(unknown), fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def _cost(s: ConfigSummary) -> float:
    return s.cost_per_task or 0.0


def _seconds(s: ConfigSummary) -> float:
    return s.p50_s


def _point(ax: Any, s: ConfigSummary, x: float, *, right: bool) -> None:
    """The config's point and interval; neighbours on the x axis put labels on
    opposite sides."""
    low, high = s.ci
    ax.errorbar(
        [x],
        [s.score],
        yerr=[[max(s.score - low, 0.0)], [max(high - s.score, 0.0)]],
        fmt="o",
        ms=7,
        capsize=4,
        color=COLOURS.get(s.kind, "black"),
    )
    ax.annotate(
        s.name,
        (x, s.score),
        xytext=(8, 5) if right else (-8, -13),
        textcoords="offset points",
        ha="left" if right else "right",
    )


def dollars(value: float) -> str:
    """A cost label that stays legible when small: two significant digits under $1
    ($0.00003, not $0), cents above."""
    if value <= 0:
        return "$0"
    if value >= 1:
        return f"${value:.2f}"
    decimals = max(2, 1 - math.floor(math.log10(value)))
    return f"${value:.{decimals}f}".rstrip("0").rstrip(".")

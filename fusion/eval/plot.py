"""`DIR/report.png`: score against cost per task, one labelled point per config with
its 95% interval as error bars, so the trade-off is seen at a glance.

matplotlib (the `eval` extra) is imported here only, and drawn without pyplot (the
Agg canvas, no display, no global state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fusion.core.errors import FusionError
from fusion.eval.stats import ConfigSummary, Summary

COLOURS = {"solo": "#4C72B0", "fusion": "#DD8452", "self": "#55A868"}
KIND_LABELS = {"solo": "solo model", "fusion": "fusion panel", "self": "self-fusion"}
LOG_SPAN = 10.0


class PlotUnavailable(FusionError):
    """matplotlib is not installed, or nothing has a known cost to plot."""


def write_plot(path: Path, summary: Summary, title: str = "") -> None:
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    except ImportError:
        raise PlotUnavailable(
            "no report.png: matplotlib is missing (pip install 'fusion-panel[eval]')"
        ) from None
    shown = [s for s in summary.configs if s.cost_per_task is not None]
    if not shown:
        raise PlotUnavailable("no report.png: no config has a known cost")
    figure = Figure(figsize=(8, 5), dpi=120)
    ax = figure.subplots()
    for kind in COLOURS:
        if any(s.kind == kind for s in shown):
            ax.plot([], [], "o", color=COLOURS[kind], label=KIND_LABELS[kind])
    best = summary.by_name.get(summary.best_solo or "")
    if best is not None:
        ax.axhline(best.score, ls="--", lw=0.8, color="grey", label=f"best solo ({best.name})")
    for i, s in enumerate(sorted(shown, key=lambda s: s.cost_per_task or 0.0)):
        _point(ax, s, right=i % 2 == 0)
    costs = [s.cost_per_task for s in shown if s.cost_per_task]
    if costs and min(costs) > 0 and max(costs) / min(costs) > LOG_SPAN:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _dollars(x)))
    ax.set_xlabel("cost per task (USD)" + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel("score (mean over tasks, 95% CI)")
    ax.set_ylim(-0.03, 1.08)
    ax.margins(x=0.15)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title or "Score against cost per task")
    hidden = [s.name for s in summary.configs if s.cost_per_task is None]
    if hidden:
        figure.text(0.01, 0.01, "not shown (cost unknown): " + ", ".join(hidden), fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def _point(ax: Any, s: ConfigSummary, *, right: bool) -> None:
    """The config's point and interval; neighbours by cost put labels on opposite sides."""
    low, high = s.ci
    ax.errorbar(
        [s.cost_per_task],
        [s.score],
        yerr=[[max(s.score - low, 0.0)], [max(high - s.score, 0.0)]],
        fmt="o",
        ms=7,
        capsize=4,
        color=COLOURS.get(s.kind, "black"),
    )
    ax.annotate(
        s.name,
        (s.cost_per_task, s.score),
        xytext=(8, 5) if right else (-8, -13),
        textcoords="offset points",
        ha="left" if right else "right",
    )


def _dollars(value: float) -> str:
    if value <= 0:
        return "$0"
    return f"${value:.4f}".rstrip("0").rstrip(".") if value < 1 else f"${value:.2f}"

"""What the templates show of a run: drafts with anchors, the analysis linked to
them, and the bars of where the money and the seconds went."""

from __future__ import annotations

from dataclasses import dataclass

from fusion.result import Analysis, ResponseOut
from fusion.web.store import Run

BAR_WIDTH = 240


@dataclass
class Draft:
    anchor: str
    response: ResponseOut


@dataclass
class Bar:
    model: str
    role: str
    cost_usd: float | None
    seconds: float | None
    cost_width: int
    seconds_width: int


def drafts(run: Run) -> list[Draft]:
    return [Draft(f"draft-{i + 1}", r) for i, r in enumerate(run.result.responses)]


def anchors(run: Run) -> dict[str, str]:
    """Model -> the anchor of its draft, for the analysis' links."""
    return {d.response.model: d.anchor for d in drafts(run)}


def analysis(run: Run) -> Analysis | None:
    return run.result.analysis


def bars(run: Run) -> list[Bar]:
    """One row per panelist (cost and seconds) and one for the judge (cost)."""
    rows: list[tuple[str, str, float | None, float | None]] = [
        (r.model, "panelist", r.cost_usd, r.seconds) for r in run.result.responses
    ]
    if run.judge:
        rows.append((run.judge, "judge", run.judge_cost_usd, None))
    top_cost = max((c for _, _, c, _ in rows if c), default=0.0)
    top_seconds = max((s for _, _, _, s in rows if s), default=0.0)
    return [
        Bar(
            model=model,
            role=role,
            cost_usd=cost,
            seconds=seconds,
            cost_width=_width(cost, top_cost),
            seconds_width=_width(seconds, top_seconds),
        )
        for model, role, cost, seconds in rows
    ]


def _width(value: float | None, top: float) -> int:
    if not value or top <= 0:
        return 0
    return max(2, round(BAR_WIDTH * value / top))

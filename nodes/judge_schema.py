"""The judge's structured output. The analysis's one home is `fusion.core.analysis`;
what is the judge's alone is the verdict: that analysis, then the answer."""

from __future__ import annotations

from pydantic import Field

from fusion.core.analysis import (
    JudgeAnalysis,
    JudgeContradiction,
    JudgePartialCoverage,
    JudgeStance,
    JudgeUniqueInsight,
)

__all__ = [
    "JudgeAnalysis",
    "JudgeContradiction",
    "JudgePartialCoverage",
    "JudgeStance",
    "JudgeUniqueInsight",
    "JudgeVerdict",
]


class JudgeVerdict(JudgeAnalysis):
    """Analyse the panel's responses first, then write the answer from that analysis."""

    # Last on purpose: a model writes fields in schema order, so the analysis is
    # reasoned out before the answer, and the answer streams at the end of the call.
    answer: str = Field(
        description="The single best answer for the user, in Markdown, written from "
        "the analysis above. It must stand on its own: no mention of the panel, the "
        "responses or their letters."
    )

"""The judge's structured output; its one home is `fusion.core.analysis`."""

from __future__ import annotations

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
]

"""The judge's analysis of the panel: the one home of its schema.

It comes in two spellings of the same five sections:

- `JudgeAnalysis`, what the judge fills in: it never sees model names, so each
  stance, covered point and insight names a response by its letter (A, B, ...);
- `Analysis`, the public one (`FusionResult.analysis`, `fusion ask --json`,
  `fusion serve`'s `fusion.analysis`, the state's `analysis`): the same analysis
  with every letter mapped back to its model by `by_model`.

Change a section here, and the judge's prompt (`nodes/judge_prompts.py`) with it;
a test keeps the two spellings in step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

CONSENSUS = "Points all or nearly all responses agree on."
CONTRADICTIONS = "Topics where responses disagree, each stance tied to its response."
PARTIAL_COVERAGE = "Points that only some of the responses covered."
UNIQUE_INSIGHTS = "Valuable points made by a single response."
BLIND_SPOTS = "Things that matter for the question that every response missed."


# --- what the judge writes: responses by letter ---


class JudgeStance(BaseModel):
    response: str = Field(description="Letter of the response that takes this stance, e.g. A.")
    stance: str = Field(description="What that response claims on the topic.")


class JudgeContradiction(BaseModel):
    topic: str = Field(description="The point the responses disagree on.")
    stances: list[JudgeStance] = Field(description="Every distinct stance, with its response.")


class JudgePartialCoverage(BaseModel):
    responses: list[str] = Field(description="Letters of the responses that cover the point.")
    point: str = Field(description="A point only some responses covered.")


class JudgeUniqueInsight(BaseModel):
    response: str = Field(description="Letter of the only response that made this point.")
    insight: str = Field(description="The valuable point only that response made.")


class JudgeAnalysis(BaseModel):
    """Record how the panel's responses agree and differ, by response letter."""

    consensus: list[str] = Field(description=CONSENSUS)
    contradictions: list[JudgeContradiction] = Field(description=CONTRADICTIONS)
    partial_coverage: list[JudgePartialCoverage] = Field(description=PARTIAL_COVERAGE)
    unique_insights: list[JudgeUniqueInsight] = Field(description=UNIQUE_INSIGHTS)
    blind_spots: list[str] = Field(description=BLIND_SPOTS)


# --- what callers read: the same analysis, by model ---


class Stance(BaseModel):
    model: str = Field(description="The model that takes this stance.")
    stance: str = Field(description="What that model claims on the topic.")


class Contradiction(BaseModel):
    topic: str = Field(description="The point the models disagree on.")
    stances: list[Stance] = Field(description="Every distinct stance, with its model.")


class PartialCoverage(BaseModel):
    models: list[str] = Field(description="The models that cover the point.")
    point: str = Field(description="A point only some models covered.")


class UniqueInsight(BaseModel):
    model: str = Field(description="The only model that made this point.")
    insight: str = Field(description="The valuable point only that model made.")


class Analysis(BaseModel):
    """The judge's analysis of the panel, naming the real models."""

    consensus: list[str] = Field(default_factory=list, description=CONSENSUS)
    contradictions: list[Contradiction] = Field(default_factory=list, description=CONTRADICTIONS)
    partial_coverage: list[PartialCoverage] = Field(
        default_factory=list, description=PARTIAL_COVERAGE
    )
    unique_insights: list[UniqueInsight] = Field(default_factory=list, description=UNIQUE_INSIGHTS)
    blind_spots: list[str] = Field(default_factory=list, description=BLIND_SPOTS)


def by_model(analysis: JudgeAnalysis, labels: dict[str, str]) -> dict[str, Any]:
    """The analysis with each response letter replaced by its model ID, as the plain
    dict the graph's state holds (the shape of `Analysis`)."""

    def model(label: str) -> str:
        key = label.strip().removeprefix("Response").strip().upper()
        return labels.get(key, f"unknown response {label}")

    a = analysis
    named = Analysis(
        consensus=list(a.consensus),
        contradictions=[
            Contradiction(
                topic=c.topic,
                stances=[Stance(model=model(s.response), stance=s.stance) for s in c.stances],
            )
            for c in a.contradictions
        ],
        partial_coverage=[
            PartialCoverage(models=[model(r) for r in p.responses], point=p.point)
            for p in a.partial_coverage
        ],
        unique_insights=[
            UniqueInsight(model=model(u.response), insight=u.insight) for u in a.unique_insights
        ],
        blind_spots=list(a.blind_spots),
    )
    return named.model_dump()

"""The judge's structured output, in the judge's own terms: responses by letter.

The judge never sees model names; `fusion.result.Analysis` is the same analysis
after the code maps letters back to models.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


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

    consensus: list[str] = Field(description="Points all or nearly all responses agree on.")
    contradictions: list[JudgeContradiction] = Field(
        description="Topics where responses disagree, each stance tied to its response."
    )
    partial_coverage: list[JudgePartialCoverage] = Field(
        description="Points that only some of the responses covered."
    )
    unique_insights: list[JudgeUniqueInsight] = Field(
        description="Valuable points made by a single response."
    )
    blind_spots: list[str] = Field(
        description="Things that matter for the question that every response missed."
    )


class JudgeVerdict(JudgeAnalysis):
    """Analyse the panel's responses first, then write the answer from that analysis."""

    # Last on purpose: a model writes fields in schema order, so the analysis is
    # reasoned out before the answer, and the answer streams at the end of the call.
    answer: str = Field(
        description="The single best answer for the user, in Markdown, written from "
        "the analysis above. It must stand on its own: no mention of the panel, the "
        "responses or their letters."
    )

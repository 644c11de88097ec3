"""Rubric grading by the grader model: the score is the weighted share of criteria met.

The grader is asked once per answer, with structured output through function calling,
for a verdict on each numbered criterion; its cost is counted apart from the configs'.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from fusion.core.providers import chat_model
from fusion.core.settings import Settings
from fusion.core.usage import call_usage
from fusion.eval.grading import Grade
from fusion.eval.tasks import Task

SYSTEM = (
    "You grade an answer against a rubric. For each numbered criterion, decide whether "
    "the answer clearly meets it. Judge only what the answer says: do not reward length, "
    "confidence or style, and do not fill gaps with your own knowledge. Return one verdict "
    "for every criterion."
)
USER = (
    "Question:\n{question}\n\nAnswer to grade:\n<answer>\n{answer}\n</answer>\n\n"
    "Criteria:\n{criteria}"
)
ATTEMPTS = 2


class CriterionVerdict(BaseModel):
    number: int = Field(description="The criterion's number, as listed (from 1).")
    met: bool = Field(description="True if the answer clearly meets the criterion.")
    reason: str = Field(default="", description="One short sentence why.")


class RubricVerdict(BaseModel):
    """The grader's verdict on each criterion of the rubric."""

    verdicts: list[CriterionVerdict] = Field(description="One verdict per criterion.")


async def grade_rubric(task: Task, reply: str, grader: str, settings: Settings) -> Grade:
    """Ask the grader; a grader that fails twice gives score 0 with `error` set."""
    if not reply.strip():
        return Grade(0.0, "no answer to grade")
    llm = chat_model(grader, settings, temperature=0)
    structured = llm.with_structured_output(
        RubricVerdict, method="function_calling", include_raw=True
    )
    criteria = "\n".join(f"{i}. {c.criterion}" for i, c in enumerate(task.rubric, start=1))
    messages = [
        SystemMessage(SYSTEM),
        HumanMessage(USER.format(question=task.prompt, answer=reply.strip(), criteria=criteria)),
    ]
    cost: float | None = None
    problem = ""
    for _attempt in range(ATTEMPTS):
        try:
            result: Any = await structured.ainvoke(messages)
        except Exception as exc:  # the provider's error, reported in the row
            problem = f"{type(exc).__name__}: {exc}"
            continue
        raw = result.get("raw")
        if isinstance(raw, AIMessage):
            call_cost = call_usage(grader, raw, settings)["cost_usd"]
            cost = None if call_cost is None else (cost or 0.0) + call_cost
        verdict = _verdict(result)
        if verdict is not None:
            return score(task, verdict, cost)
        problem = "the grader's reply did not fit the verdict schema"
    return Grade(0.0, "grader failed", cost_usd=cost, error=problem[:300])


def _verdict(result: dict[str, Any]) -> RubricVerdict | None:
    parsed = result.get("parsed")
    if isinstance(parsed, RubricVerdict):
        return parsed
    raw = result.get("raw")
    if isinstance(raw, AIMessage) and raw.tool_calls:
        try:
            return RubricVerdict.model_validate(raw.tool_calls[0]["args"])
        except ValidationError:
            return None
    return None


def score(task: Task, verdict: RubricVerdict, cost: float | None = None) -> Grade:
    """The weighted share of criteria the verdict says are met (unlisted: not met)."""
    met = {v.number for v in verdict.verdicts if v.met}
    total = sum(c.weight for c in task.rubric)
    gained = sum(c.weight for i, c in enumerate(task.rubric, start=1) if i in met)
    count = sum(1 for i in range(1, len(task.rubric) + 1) if i in met)
    missed = [str(i) for i in range(1, len(task.rubric) + 1) if i not in met]
    detail = f"{count}/{len(task.rubric)} criteria met"
    if missed:
        detail += f" (missed {', '.join(missed)})"
    return Grade(round(gained / total, 6), detail, cost_usd=cost)

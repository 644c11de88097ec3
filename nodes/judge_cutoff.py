"""A judge reply cut at its token limit (`finish_reason: length`).

The OpenAI SDK refuses a structured reply (`response_format` json_schema) that was
cut, raising `openai.LengthFinishReasonError`; the call was paid all the same, so
its tokens are counted from the completion the error carries. A streamed verdict
cut mid-way keeps what it wrote: the analysis, which comes first, if it is whole,
and the answer so far, marked as cut.
"""

from __future__ import annotations

from typing import Any

import jiter
import openai
from langchain_core.messages import AIMessage
from pydantic import ValidationError

from fusion.core.settings import load_settings
from fusion.core.state import CallUsage
from fusion.core.usage import finish_reason, price
from fusion.nodes.judge_schema import JudgeAnalysis

CUT = "length"


def is_cut(message: AIMessage | None) -> bool:
    return message is not None and finish_reason(message) == CUT


def cut_off_usage(exc: BaseException) -> CallUsage | None:
    """The usage of the call behind a `LengthFinishReasonError`, else None."""
    if not isinstance(exc, openai.LengthFinishReasonError):
        return None
    completion = exc.completion
    usage = completion.usage
    prompt = usage.prompt_tokens if usage else 0
    written = usage.completion_tokens if usage else 0
    reported = (usage.model_extra or {}).get("cost") if usage else None
    model_id = completion.model or ""
    cost = (
        float(reported)
        if isinstance(reported, int | float)
        else price(model_id, prompt, written, load_settings())  # cached by now: no I/O
    )
    return CallUsage(
        model=model_id,
        prompt_tokens=prompt,
        completion_tokens=written,
        cost_usd=cost,
        finish_reason=CUT,
    )


def partial_verdict(json_text: str) -> tuple[str, JudgeAnalysis | None]:
    """From a verdict cut mid-way: the answer written so far, and the analysis if it
    was complete (it comes before the answer)."""
    try:
        value: Any = jiter.from_json(json_text.encode(), partial_mode="trailing-strings")
    except ValueError:
        return "", None
    if not isinstance(value, dict):
        return "", None
    answer = value.get("answer")
    analysis = None
    if "answer" in value:  # the fields before it were written whole
        try:
            analysis = JudgeAnalysis.model_validate(
                {k: v for k, v in value.items() if k != "answer"}
            )
        except ValidationError:
            analysis = None
    return (answer if isinstance(answer, str) else ""), analysis

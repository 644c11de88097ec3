"""What a run may cost, worked out before any model is called.

`fusion estimate` prints it, and `--budget` refuses runs whose high end exceeds the
budget. No tokenizer is loaded (each provider has its own, and Fusion calls models
it knows nothing about), so text is counted as **4 characters per token**, the usual
rule of thumb for English; code and non-Latin scripts run denser, which is one more
reason the high end is deliberately pessimistic.

The range is built per model:

- low: every panelist answers at once, without tools, with a short answer, and the
  judge reads those short drafts once and writes a short analysis and a short answer
  in one call (in the answer-first order: the answer, then, re-reading the drafts and
  its answer, the analysis);
- high: every panelist uses all `max_tool_calls` tool rounds (one call per round,
  which re-sends the most context), each result adding a full `fetch_max_chars` page
  to a context that every round re-sends, then writes a draft of
  `max_completion_tokens` (4096 when unset); the judge reads all those drafts twice
  and writes `judge_max_completion_tokens` (4096 when unset) in each of two calls (the
  two-call fallback, or the answer-first order).

Each call's prompt is capped at the model's context window minus its completion
cap, because the panelist trims fetched text to fit (see `fusion.core.budget`).
Retries, the fallback judge, provider-side reasoning tokens and prompt-cache
discounts (the judge's second call repeats its first call's prompt) are not counted.
Every term grows with the panel, the tool budget, the page size and the caps, so the
estimate is monotone in each of them.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.core.plan import RunPlan
from fusion.core.settings import Settings
from fusion.core.usage import price
from fusion.core.windows import window as context_window

CHARS_PER_TOKEN = 4
DEFAULT_COMPLETION_TOKENS = 4096
SHORT_ANSWER_TOKENS = 300
"""A terse draft, for the low end (never above the completion cap)."""
PANELIST_OVERHEAD_TOKENS = 300
"""The panelist's system prompt (about 1,000 characters) plus message framing."""
TOOL_SCHEMA_TOKENS = 250
"""The web_search and web_fetch schemas, sent with every call that offers tools."""
TOOL_CALL_TOKENS = 60
"""One tool call the model writes (name, query or URL, ids)."""
TOOL_RESULT_OVERHEAD_TOKENS = 60
"""What a tool result adds beyond the page text (URL, title, framing)."""
JUDGE_OVERHEAD_TOKENS = 700
"""The judge's system prompt, instructions and output schema."""
DRAFT_FRAMING_TOKENS = 40
"""The <response> tags and source list around each draft the judge reads."""


def estimate_tokens(text: str) -> int:
    """Tokens in `text` at 4 characters per token, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def completion_cap(cap: int | None) -> int:
    """The completion tokens a call may write: its cap, else the documented default."""
    return cap if cap is not None else DEFAULT_COMPLETION_TOKENS


class ModelEstimate(BaseModel):
    """One model's share of a run: tokens and dollars, low and high."""

    model: str
    role: Literal["panelist", "judge"]
    calls_low: int
    calls_high: int
    prompt_tokens_low: int
    prompt_tokens_high: int
    completion_tokens_low: int
    completion_tokens_high: int
    low_usd: float | None = Field(description="None when the model has no price.")
    high_usd: float | None = Field(description="None when the model has no price.")


class CostEstimate(BaseModel):
    """The expected cost range of a run, with what it assumes."""

    prompt_tokens: int = Field(description="The question alone, at 4 characters per token.")
    low_usd: float = Field(description="Sum of the priced models' low ends.")
    high_usd: float = Field(description="Sum of the priced models' high ends.")
    lines: list[ModelEstimate]
    unpriced_models: list[str] = Field(
        description="Models with no price: their cost is not in low_usd/high_usd."
    )
    assumptions: list[str]

    def range_text(self) -> str:
        """The range as every surface says it: never $0 for a cost nobody knows."""
        unpriced = ", ".join(self.unpriced_models)
        if self.unpriced_models and len(self.unpriced_models) == len(
            {line.model for line in self.lines}
        ):
            return f"unknown: no price for {unpriced} (prices go in the config file)"
        text = f"${self.low_usd:.4f} to ${self.high_usd:.4f}"
        return f"{text}, not counting {unpriced} (no price)" if unpriced else text


def _fit(tokens: int, window: int, completion: int) -> int:
    """A prompt as the model receives it: at most its window minus the completion cap."""
    return min(tokens, max(window - completion, 0))


def _panelist(model: str, context: Context, settings: Settings, question: int) -> ModelEstimate:
    cap = completion_cap(context.max_completion_tokens)
    window = context_window(model, settings)
    rounds = context.max_tool_calls if context.web else 0
    base = PANELIST_OVERHEAD_TOKENS + question
    low_prompt = _fit(base, window, cap)
    low_completion = min(SHORT_ANSWER_TOKENS, cap)
    result = math.ceil(context.fetch_max_chars / CHARS_PER_TOKEN) + TOOL_RESULT_OVERHEAD_TOKENS
    step = min(TOOL_CALL_TOKENS, cap)
    sent = base + (TOOL_SCHEMA_TOKENS if rounds else 0)
    high_prompt = 0
    for _ in range(rounds):  # each round re-sends everything so far
        high_prompt += _fit(sent, window, cap)
        sent += step + result
    high_prompt += _fit(sent, window, cap)  # the drafting call
    high_completion = rounds * step + cap
    return _line(
        model,
        "panelist",
        settings,
        (1, rounds + 1),
        (low_prompt, high_prompt),
        (low_completion, high_completion),
    )


def _judge(
    model: str, context: Context, settings: Settings, question: int, drafts: tuple[int, int]
) -> ModelEstimate:
    cap = completion_cap(context.judge_max_completion_tokens)
    window = context_window(model, settings)
    base = JUDGE_OVERHEAD_TOKENS + question
    short = min(SHORT_ANSWER_TOKENS, cap)
    # Low: the analysis and the answer in one call (two in the answer-first order).
    # High: two calls (the two-call fallback or the answer-first order), the second
    # over the same prompt plus the first one's output.
    low_calls = 1 if context.judge_order == "analysis_first" else 2
    low_prompt = low_calls * _fit(base + drafts[0], window, cap) + (low_calls - 1) * short
    prompts = (low_prompt, 2 * _fit(base + drafts[1], window, cap) + cap)
    return _line(model, "judge", settings, (low_calls, 2), prompts, (2 * short, 2 * cap))


def _line(
    model: str,
    role: Literal["panelist", "judge"],
    settings: Settings,
    calls: tuple[int, int],
    prompt: tuple[int, int],
    completion: tuple[int, int],
) -> ModelEstimate:
    return ModelEstimate(
        model=model,
        role=role,
        calls_low=calls[0],
        calls_high=calls[1],
        prompt_tokens_low=prompt[0],
        prompt_tokens_high=prompt[1],
        completion_tokens_low=completion[0],
        completion_tokens_high=completion[1],
        low_usd=price(model, prompt[0], completion[0], settings),
        high_usd=price(model, prompt[1], completion[1], settings),
    )


def estimate_run(
    context: Context, plan: RunPlan, settings: Settings, prompt_text: str
) -> CostEstimate:
    """The cost range of running `plan` on `prompt_text` (see the module docstring)."""
    question = estimate_tokens(prompt_text)
    panel = [_panelist(m, context, settings, question) for m in plan.panel]
    drafts_low = sum(p.completion_tokens_low + DRAFT_FRAMING_TOKENS for p in panel)
    panel_cap = completion_cap(context.max_completion_tokens)
    drafts_high = len(panel) * (panel_cap + DRAFT_FRAMING_TOKENS)
    judge = _judge(plan.judge, context, settings, question, (drafts_low, drafts_high))
    lines = [*panel, judge]
    unpriced = list(dict.fromkeys(line.model for line in lines if line.high_usd is None))
    rounds = context.max_tool_calls if context.web else 0
    return CostEstimate(
        prompt_tokens=question,
        low_usd=round(sum(line.low_usd or 0.0 for line in lines), 6),
        high_usd=round(sum(line.high_usd or 0.0 for line in lines), 6),
        lines=lines,
        unpriced_models=unpriced,
        assumptions=[
            f"{CHARS_PER_TOKEN} characters per token; no tokenizer is used",
            "low: each panelist answers without tools in about "
            f"{SHORT_ANSWER_TOKENS} tokens; the judge writes a short answer and analysis",
            f"high: each panelist makes {rounds} tool rounds, each adding a full "
            f"{context.fetch_max_chars}-character page to a context re-sent every round",
            f"high: drafts of {panel_cap} tokens; judge answer and analysis of "
            f"{completion_cap(context.judge_max_completion_tokens)} tokens each",
            "not counted: retries, the fallback judge, reasoning tokens, prompt caching",
        ],
    )


def check_context_window(plan: RunPlan, settings: Settings, prompt_text: str) -> None:
    """Refuse a prompt that cannot fit the smallest window among the run's models
    (the prompt plus the panelist's system prompt), before anything is paid for."""
    needed = estimate_tokens(prompt_text) + PANELIST_OVERHEAD_TOKENS
    models = list(dict.fromkeys([*plan.panel, plan.judge]))
    smallest = min(models, key=lambda m: context_window(m, settings))
    size = context_window(smallest, settings)
    if needed > size:
        raise ConfigError(
            f"the prompt is about {needed:,} tokens, over the {size:,}-token context "
            f"window of {smallest}: shorten the prompt or use models with a larger "
            "context_window"
        )


def check_budget(context: Context, plan: RunPlan, settings: Settings, prompt_text: str) -> None:
    """With a budget set, refuse a run that may cost more, or whose cost cannot be
    known because a model has no price. No budget: nothing to check."""
    budget = context.budget_usd
    if budget is None:
        return
    estimate = estimate_run(context, plan, settings, prompt_text)
    if estimate.unpriced_models:
        names = ", ".join(estimate.unpriced_models)
        verb = "has" if len(estimate.unpriced_models) == 1 else "have"
        raise ConfigError(
            f"--budget needs prices, but {names} {verb} none: add input_per_million and "
            'output_per_million under [models."..."] in your config file'
        )
    if estimate.high_usd > budget:
        raise ConfigError(
            f"estimated cost up to ${estimate.high_usd:.4f} exceeds --budget ${budget:g}: "
            "raise the budget, use fewer panelists or tool calls, or --no-web"
        )

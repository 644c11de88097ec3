"""Tokens and dollars per call, and their sums.

Tokens come from langchain's `usage_metadata`. Dollars come from the provider's
own figure when it reports one (OpenRouter's `usage.cost`), else from the price
table, whose prices apply only at the provider they belong to (`price_provider`);
a model with neither is unknown (None), never 0, and any sum that includes it says
it is incomplete. Every call also keeps its `finish_reason` (`length`: cut off).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.messages import AIMessage

from fusion.core.endpoints import provider_name
from fusion.core.settings import Settings
from fusion.core.state import CallUsage, Usage


def reported_cost(message: AIMessage) -> float | None:
    """The provider's own cost for this call (OpenRouter's `usage.cost`), if any."""
    token_usage: Any = message.response_metadata.get("token_usage") or {}
    cost = token_usage.get("cost") if isinstance(token_usage, dict) else None
    return float(cost) if isinstance(cost, int | float) else None


def finish_reason(message: AIMessage) -> str | None:
    """Why the model stopped (`stop`, `length`, `tool_calls`...), as it reported it."""
    reason = message.response_metadata.get("finish_reason")
    return str(reason) if reason else None


def has_price(model_id: str, settings: Settings) -> bool:
    """Whether the price table prices this model where it is served now: prices that
    name a `price_provider` (the shipped ones are OpenRouter's) apply only there."""
    spec = settings.model_spec(model_id)
    if spec.input_per_million is None or spec.output_per_million is None:
        return False
    return spec.price_provider is None or spec.price_provider == provider_name(model_id, settings)


def price(
    model_id: str, prompt_tokens: int, completion_tokens: int, settings: Settings
) -> float | None:
    """Dollars from the price table, or None when the model has no price here."""
    spec = settings.model_spec(model_id)
    if not has_price(model_id, settings):
        return None
    assert spec.input_per_million is not None and spec.output_per_million is not None
    return (
        prompt_tokens * spec.input_per_million + completion_tokens * spec.output_per_million
    ) / 1_000_000


def call_usage(
    model_id: str, message: AIMessage, settings: Settings, seconds: float | None = None
) -> CallUsage:
    """The usage record of one answered call (`seconds`: its own duration, if timed)."""
    meta: dict[str, Any] = dict(message.usage_metadata or {})
    prompt_tokens = int(meta.get("input_tokens", 0))
    completion_tokens = int(meta.get("output_tokens", 0))
    cost = reported_cost(message)
    if cost is None:
        cost = price(model_id, prompt_tokens, completion_tokens, settings)
    usage = CallUsage(
        model=model_id,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost,
        finish_reason=finish_reason(message),
    )
    if seconds is not None:
        usage["seconds"] = round(seconds, 3)
    return usage


def total_usage(calls: Iterable[CallUsage]) -> Usage:
    """Sum of single calls."""
    return merge_usages(
        Usage(
            prompt_tokens=c["prompt_tokens"],
            completion_tokens=c["completion_tokens"],
            total_tokens=c["prompt_tokens"] + c["completion_tokens"],
            cost_usd=c["cost_usd"],
            cost_complete=c["cost_usd"] is not None,
        )
        for c in calls
    )


def merge_usages(usages: Iterable[Usage]) -> Usage:
    """Sum of usages: `cost_usd` adds the known costs (None when none is known, which
    includes no call at all: a judge that failed before paying adds nothing) and
    `cost_complete` is False as soon as one part had an unknown cost."""
    prompt = completion = 0
    cost = 0.0
    known = False
    complete = True
    for usage in usages:
        prompt += usage["prompt_tokens"]
        completion += usage["completion_tokens"]
        complete = complete and usage["cost_complete"]
        if usage["cost_usd"] is not None:
            cost += usage["cost_usd"]
            known = True
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=round(cost, 10) if known else None,  # no priced call: unknown, not $0
        cost_complete=complete,
    )

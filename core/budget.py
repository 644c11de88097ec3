"""Limits a panelist applies during a run: its share of the budget, and the room
its model's context window leaves for fetched text.

Both are pure functions so the panelist node stays a thin caller and the rules can
be tested without a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from langchain_core.messages import BaseMessage, ToolMessage

from fusion.core.context import Context
from fusion.core.estimate import CHARS_PER_TOKEN, estimate_tokens
from fusion.core.state import CallUsage

MESSAGE_OVERHEAD_TOKENS = 8
"""Role and framing tokens each message costs beyond its text."""
TRIM_MARKER = "\n[... {count} characters trimmed to fit the model's context window]"


def budget_share(budget_usd: float, panel_size: int) -> float:
    """One panelist's share: the budget split evenly over the panel and the judge
    (the +1), so the judge is never left with nothing."""
    return budget_usd / (panel_size + 1)


def spent_share_reached(calls: Iterable[CallUsage], context: Context, panel_size: int) -> bool:
    """True once these calls have spent the panelist's share of the budget.

    A call with an unknown cost counts as 0: the budget check before the run refuses
    unpriced models, so an unknown cost here means the provider reported none for a
    model the price table also lacks, and there is nothing better to add.
    """
    if context.budget_usd is None:
        return False
    spent = sum(c["cost_usd"] or 0.0 for c in calls)
    return spent >= budget_share(context.budget_usd, panel_size)


def message_tokens(messages: Iterable[BaseMessage]) -> int:
    """Tokens the messages take, at 4 characters per token plus framing."""
    return sum(estimate_tokens(m.text) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def fit_tool_results(messages: Sequence[BaseMessage], max_tokens: int) -> list[BaseMessage]:
    """The messages, with the longest tool results cut (head kept, marker added)
    until they fit `max_tokens`; unchanged when they already fit.

    Tool results are cut to a common length (the longest first), which keeps every
    page's opening, where extracted text puts titles and lead paragraphs. If even
    empty tool results would not fit, they are all cut to the marker and the rest is
    left to the provider: the prompt itself was checked before the run.
    """
    excess = (message_tokens(messages) - max_tokens) * CHARS_PER_TOKEN
    if excess <= 0:
        return list(messages)
    lengths = [len(m.text) for m in messages if isinstance(m, ToolMessage)]
    room = sum(lengths) - excess - len(lengths) * len(TRIM_MARKER.format(count=10**9))
    limit = _common_length(lengths, room)
    out: list[BaseMessage] = []
    for message in messages:
        text = message.text if isinstance(message, ToolMessage) else ""
        if isinstance(message, ToolMessage) and len(text) > limit:
            cut = TRIM_MARKER.format(count=len(text) - limit)
            out.append(message.model_copy(update={"content": text[:limit] + cut}))
        else:
            out.append(message)
    return out


def _common_length(lengths: list[int], total: int) -> int:
    """The largest L with sum(min(n, L)) <= total (0 when total <= 0)."""
    if total <= 0:
        return 0
    ordered = sorted(lengths)
    remaining = total
    for i, n in enumerate(ordered):
        left = len(ordered) - i
        if n * left > remaining:
            return remaining // left
        remaining -= n
    return ordered[-1] if ordered else 0


def trim_tails(texts: list[str], excess_chars: int, marker: str) -> list[str]:
    """The texts with the longest cut to a common length (tails dropped, `marker`
    with `{count}` added to each cut one) so they shrink by `excess_chars` in all;
    unchanged when nothing is in excess."""
    if excess_chars <= 0:
        return list(texts)
    lengths = [len(t) for t in texts]
    room = sum(lengths) - excess_chars - len(texts) * len(marker.format(count=10**9))
    limit = _common_length(lengths, room)
    return [t[:limit] + marker.format(count=len(t) - limit) if len(t) > limit else t for t in texts]

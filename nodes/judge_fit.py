"""The judge's input fitted to its context window.

The judge reads every draft, their sources and the conversation; with long drafts
that can exceed a small window (a local model's 2,048 tokens), and the call would
fail. So the longest drafts' tails are cut, to a common length, until the prompt
fits the window less room for the judge's output, and each cut draft says so to the
judge, as fetched pages do for panelists.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.messages import BaseMessage

from fusion.core.budget import message_tokens, trim_tails
from fusion.core.estimate import CHARS_PER_TOKEN, DEFAULT_COMPLETION_TOKENS
from fusion.core.state import Response

TRIM_MARKER = "\n[... {count} characters of this response cut to fit the judge's context window]"
MARGIN = 0.05
"""Part of the window kept free: text is counted at 4 characters a token, no tokenizer."""

Labelled = list[tuple[str, Response]]


def output_room(window: int, cap: int | None) -> int:
    """Tokens kept for the judge's output: its cap, else the default capped at half
    the window (a 2,048-token window keeps 1,024)."""
    return cap if cap is not None else min(DEFAULT_COMPLETION_TOKENS, window // 2)


def fit_drafts(
    labelled: Labelled, build: Callable[[Labelled], list[BaseMessage]], window: int, cap: int | None
) -> tuple[Labelled, int]:
    """The drafts, the longest cut so `build(drafts)` fits the window; with how many
    were cut (0: unchanged)."""
    room = int(window * (1 - MARGIN)) - output_room(window, cap)
    excess = message_tokens(build(labelled)) - room
    if excess <= 0:
        return labelled, 0
    texts = trim_tails([d["text"] for _, d in labelled], excess * CHARS_PER_TOKEN, TRIM_MARKER)
    fitted: Labelled = [
        (label, Response(**{**draft, "text": text}))
        for (label, draft), text in zip(labelled, texts, strict=True)
    ]
    cut = sum(1 for (_, d), t in zip(labelled, texts, strict=True) if d["text"] != t)
    return fitted, cut

"""One web search result as every search backend hands it on: `{"url", "title",
"snippet"}`, whitespace folded and the snippet bounded."""

from __future__ import annotations

from typing import Any

SNIPPET_CHARS = 500


def as_result(raw: Any, text_key: str = "content") -> dict[str, str] | None:
    """A backend's raw result (a dict with `url`, `title` and `text_key`), or None
    when it has no URL."""
    if not isinstance(raw, dict) or not raw.get("url"):
        return None
    snippet = " ".join(str(raw.get(text_key) or "").split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rstrip() + "…"
    return {
        "url": str(raw["url"]),
        "title": " ".join(str(raw.get("title") or "").split()),
        "snippet": snippet,
    }

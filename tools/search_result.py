"""One web search result as every search backend hands it on: `{"url", "title",
"snippet"}`, whitespace folded and the snippet bounded.

Only results at an http(s) address with a host are kept: a `javascript:`, `data:` or
`file:` URL in a search reply can be neither fetched nor cited, so no model, draft
source, export, page or API client ever gets it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

SNIPPET_CHARS = 500


def as_result(raw: Any, text_key: str = "content") -> dict[str, str] | None:
    """A backend's raw result (a dict with `url`, `title` and `text_key`), or None
    when it has no http(s) URL."""
    url = web_address(raw.get("url")) if isinstance(raw, dict) else None
    if url is None:
        return None
    snippet = " ".join(str(raw.get(text_key) or "").split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rstrip() + "…"
    return {
        "url": url,
        "title": " ".join(str(raw.get("title") or "").split()),
        "snippet": snippet,
    }


def web_address(raw: object) -> str | None:
    """`raw` as an http(s) URL with a host (surrounding whitespace dropped), else None."""
    url = str(raw or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None

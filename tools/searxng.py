"""The `searxng` search backend: a self-hosted SearXNG instance's JSON API.

`GET {SEARXNG_URL}/search?q=...&format=json` (the instance must list `json` under
`search.formats` in its settings.yml; it answers 403 otherwise). No API key: with
local models this makes a research panel that needs no account anywhere. SearXNG
pages its results itself, so `search_max_results` is applied here; `search_topic`
maps to its categories (`general`, `news`; `finance` searches `general`), and
`search_depth` has no SearXNG meaning.
"""

from __future__ import annotations

import os

import httpx
from langchain_core.tools import ToolException

from fusion.core.context import Context
from fusion.tools.search_result import as_result
from fusion.tools.tls import shared_ssl_context

URL_ENV = "SEARXNG_URL"
TIMEOUT_S = 30.0
MISSING_URL = (
    "search_provider searxng needs SEARXNG_URL (your instance, e.g. http://127.0.0.1:8888): "
    "set it, or run with --no-web"
)


def searxng_url() -> str | None:
    return os.environ.get(URL_ENV, "").strip().rstrip("/") or None


def searxng_problem() -> str | None:
    """Why SearXNG cannot be searched now, or None."""
    url = searxng_url()
    if url is None:
        return MISSING_URL
    if not url.startswith(("http://", "https://")):
        return f"SEARXNG_URL is {url[:60]!r}: give an http:// or https:// address"
    return None


async def searxng_search(query: str, context: Context) -> list[dict[str, str]]:
    """Results for `query` as `{"url", "title", "snippet"}`, or a `ToolException`."""
    problem = searxng_problem()
    if problem is not None:
        raise ToolException(f"web search is not available ({problem}); answer without it")
    base = searxng_url()
    params = {"q": query, "format": "json", "categories": _category(context)}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, verify=await shared_ssl_context()) as http:
            response = await http.get(f"{base}/search", params=params)
    except httpx.TimeoutException:
        raise ToolException("web search failed: SearXNG timed out; try again") from None
    except httpx.HTTPError as exc:
        raise ToolException(
            f"web search failed: could not reach SearXNG ({type(exc).__name__})"
        ) from None
    if response.status_code == 403:
        raise ToolException(
            "web search failed: SearXNG refused the JSON format (403); the instance must "
            "list json under search.formats in its settings.yml"
        )
    if response.status_code == 429:
        raise ToolException(
            "web search failed: SearXNG is rate limiting (429); answer with what you have"
        )
    if response.status_code != 200:
        raise ToolException(f"web search failed: SearXNG answered HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise ToolException("web search failed: SearXNG sent an unreadable reply")
    found = [item for item in map(as_result, results) if item is not None]
    return found[: context.search_max_results]


def _category(context: Context) -> str:
    return "news" if context.search_topic == "news" else "general"

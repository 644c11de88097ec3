"""web_search: a web search for a panelist, as a compact list the model can scan.

The backend is the run's `search_provider`: `tavily` (the default, below) or
`searxng` (a self-hosted instance, `tools/searxng.py`); `BACKENDS` is the registry a
new backend joins (its readiness check and its search).

The model gets, for each result, its title, URL and snippet, fenced as untrusted web
content; the draft gets the same results as structured data (the tool's artifact).
Everything Tavily can throw (bad key, rate limit, plan limits, timeouts, a server
down) becomes a short `ToolException` the model can read, never a crashed run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import httpx
from langchain_core.tools import ToolException, tool
from tavily import (
    AsyncTavilyClient,
    BadRequestError,
    InvalidAPIKeyError,
    UsageLimitExceededError,
)
from tavily.errors import ForbiddenError
from tavily.errors import TimeoutError as TavilyTimeoutError

from fusion.core.context import Context, SearchProvider
from fusion.core.errors import SetupError
from fusion.core.redact import redact
from fusion.core.settings import Settings, load_settings, load_settings_async
from fusion.tools.framing import fence
from fusion.tools.run_context import WebToolRuntime, context_of
from fusion.tools.search_result import SNIPPET_CHARS, as_result
from fusion.tools.searxng import searxng_problem, searxng_search
from fusion.tools.tls import shared_ssl_context

log = logging.getLogger(__name__)

API_KEY_ENV = "TAVILY_API_KEY"
BASE_URL_ENV = "TAVILY_BASE_URL"
DEFAULT_BASE_URL = "https://api.tavily.com"
TIMEOUT_S = 30.0
MISSING_KEY = "web search needs TAVILY_API_KEY: set it, or run with --no-web"


def _api_key() -> str | None:
    return os.environ.get(API_KEY_ENV, "").strip() or None


def _tavily_problem() -> str | None:
    # Without a key, tavily-python does not fail: it silently switches to a keyless
    # mode with its own limits, so a missing key is a problem here.
    return MISSING_KEY if _api_key() is None else None


def provider_of(context: Context | None, settings: Settings) -> SearchProvider:
    """The run's search backend: its own `search_provider`, else the config file's."""
    chosen = context.search_provider if context is not None else None
    return chosen or settings.search_provider


def check_search_ready(context: Context | None = None) -> None:
    """Fail before the run starts when the run's search backend can't work (a missing
    key or address), so the CLI or fan-out says it once, not each panelist."""
    problem = BACKENDS[provider_of(context, load_settings())].problem()
    if problem is not None:
        raise SetupError(problem)


def search_options(context: Context) -> dict[str, Any]:
    """The Tavily options a run's context asks for, clamped to what Tavily accepts."""
    return {
        "max_results": min(max(int(context.search_max_results), 1), 20),
        "search_depth": context.search_depth,
        "topic": context.search_topic,
    }


async def search(query: str, context: Context) -> list[dict[str, str]]:
    """Results for `query` from the run's backend, as `{"url", "title", "snippet"}`,
    or a `ToolException` the model can read."""
    provider = provider_of(context, await load_settings_async())
    return await BACKENDS[provider].search(query, context)


async def tavily_search(query: str, context: Context) -> list[dict[str, str]]:
    """Tavily's results for `query`, or a `ToolException`."""
    key = _api_key()
    if key is None:
        raise ToolException(f"web search is not available ({MISSING_KEY}); answer without it")
    base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    # Our own httpx client, so it gets the shared TLS context: left to itself the
    # Tavily client builds a new one, reading the CA bundle on the event loop.
    async with httpx.AsyncClient(base_url=base_url, verify=await shared_ssl_context()) as http:
        client = AsyncTavilyClient(api_key=key, api_base_url=base_url, client=http)
        try:
            reply = await client.search(query, timeout=TIMEOUT_S, **search_options(context))
        except Exception as exc:
            raise ToolException(_error_message(exc)) from None
    results = reply.get("results") if isinstance(reply, dict) else None
    if not isinstance(results, list):
        raise ToolException("web search failed: the search service sent an unreadable reply")
    return [item for item in map(as_result, results) if item is not None]


def _error_message(exc: Exception) -> str:
    """What a Tavily failure means, for the model; Tavily's own detail when it has one."""
    detail = redact(" ".join(str(exc).split()))[:160]
    said = f" ({detail})" if detail else ""
    if isinstance(exc, InvalidAPIKeyError):
        return f"web search failed: the search service rejected the API key (401){said}"
    if isinstance(exc, UsageLimitExceededError):
        return (
            f"web search failed: rate limit or usage quota reached (429){said}; "
            "answer from the sources you have or use web_fetch on a known URL"
        )
    if isinstance(exc, ForbiddenError):
        return (
            f"web search failed: the search service refused the request (plan or key limits){said}"
        )
    if isinstance(exc, BadRequestError):
        return f"web search failed: the service rejected this query (400){said}; rephrase it"
    if isinstance(exc, TavilyTimeoutError | httpx.TimeoutException):
        return "web search failed: the search service timed out; try again or rephrase"
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return f"web search failed: the search service answered HTTP {code}; try again later"
    if isinstance(exc, httpx.TransportError):
        return f"web search failed: could not reach the search service ({type(exc).__name__})"
    log.warning("web_search failed unexpectedly", exc_info=exc)
    return f"web search failed: {type(exc).__name__}{said}"


class Backend(NamedTuple):
    """A search backend: why it cannot search now (None when it can), and its search."""

    problem: Callable[[], str | None]
    search: Callable[[str, Context], Awaitable[list[dict[str, str]]]]


BACKENDS: dict[SearchProvider, Backend] = {
    "tavily": Backend(_tavily_problem, tavily_search),
    "searxng": Backend(searxng_problem, searxng_search),
}
"""`search_provider` -> its backend. A new backend adds its name to `SearchProvider`
(core/context.py) and its entry here."""

__all__ = ["SNIPPET_CHARS", "check_search_ready", "search", "web_search"]


def for_model(query: str, results: list[dict[str, str]]) -> str:
    """The compact text the model reads: numbered title, URL, snippet."""
    if not results:
        return f"No results for {query!r}. Try other words, or a broader query."
    lines = []
    for n, item in enumerate(results, 1):
        lines.append(f"{n}. {item['title'] or '(no title)'}\n   URL: {item['url']}")
        if item["snippet"]:
            lines.append(f"   {item['snippet']}")
    head = f"{len(results)} results for {query!r}. Use web_fetch on a URL to read the page.\n"
    fenced: str = fence("\n".join(lines), what="list of search results")
    return head + fenced


@tool("web_search", response_format="content_and_artifact")
async def web_search(
    query: str, runtime: WebToolRuntime = None
) -> tuple[str, list[dict[str, str]]]:
    """Search the web. Returns a numbered list of results, each with title, URL and a
    short snippet. Read a promising result in full with web_fetch.
    """
    query = " ".join(query.split())
    if not query:
        raise ToolException("web search needs a non-empty query")
    results = await search(query[:400], context_of(runtime))
    return for_model(query, results), results


# The tool turns its ToolException into an error ToolMessage itself (see fetch.py).
web_search.handle_tool_error = True

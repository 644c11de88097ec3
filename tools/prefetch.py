"""`research = "prefetch"`: one search for the question, its top pages read, for the
whole panel.

Models that cannot call tools (most small local ones) still get web evidence: Fusion
searches the question once with the run's `search_provider`, reads the top pages with
the same guarded, bounded fetch as `web_fetch`, and every panelist gets the same
fenced sources. The run pays for one search, whatever the panel's size. A search
that fails leaves the panel without sources, saying why; a page that cannot be read
is skipped.
"""

from __future__ import annotations

import asyncio
import logging

from langchain_core.tools import ToolException

from fusion.core.context import Context
from fusion.core.state import Research, ResearchPage
from fusion.tools.download import FetchError
from fusion.tools.fetch import fetch_page, private_allowed
from fusion.tools.framing import fence
from fusion.tools.search import search

log = logging.getLogger(__name__)

PAGES = 3
QUERY_CHARS = 400


async def prefetch(question: str, context: Context, *, page_chars: int) -> Research:
    """Search `question` once and read up to `PAGES` of its results, each cut to
    `page_chars` characters (at most the run's `fetch_max_chars`)."""
    query = " ".join(question.split())[:QUERY_CHARS]
    try:
        results = await search(query, context)
    except ToolException as exc:
        return Research(query=query, results=[], pages=[], error=str(exc))
    chars = max(min(page_chars, context.fetch_max_chars), 200)
    allowed = await private_allowed()
    read = await asyncio.gather(*(_read(item["url"], chars, allowed) for item in results[:PAGES]))
    pages = [page for page in read if page is not None]
    return Research(query=query, results=results, pages=pages, error=None)


async def _read(url: str, chars: int, allowed: bool) -> ResearchPage | None:
    try:
        page = await fetch_page(url, max_chars=chars, allow_private=allowed)
    except (FetchError, ToolException) as exc:
        log.info("prefetch skipped %s: %s", url, exc)
        return None
    except Exception:  # an odd page must not end the run
        log.warning("prefetch of %s failed unexpectedly", url, exc_info=True)
        return None
    return ResearchPage(url=page.url, title=page.title, text=page.text)


def for_panelist(research: Research) -> str:
    """The sources as every panelist reads them: each page fenced as untrusted web
    content, then the other results' snippets."""
    if research["error"]:
        return f"Fusion's web search for this question failed ({research['error']})."
    read = {page["url"] for page in research["pages"]}
    parts = []
    for n, page in enumerate(research["pages"], 1):
        title = f"Title: {page['title']}\n\n" if page["title"] else ""
        body = fence(f"{title}{page['text'] or '(the page has no text)'}", what="page text")
        parts.append(f"[{n}] {page['url']}\n{body}")
    others = [r for r in research["results"] if r["url"] not in read]
    if others:
        lines = "\n".join(
            f"- {r['title'] or '(no title)'}: {r['url']}\n  {r['snippet']}" for r in others
        )
        parts.append("Other results (not read):\n" + fence(lines, what="list of search results"))
    if not parts:
        return f"Fusion's web search for {research['query']!r} found nothing."
    return "\n\n".join(parts)

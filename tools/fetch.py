"""web_fetch: read one page for a panelist, as bounded, fenced text.

The pieces: `download.py` (bounded HTTP through the address guard of `netguard.py`),
`extract.py` (main text, in a limited worker process: `extract_pool.py`), `framing.py`
(the cut and the untrusted block), `fetch_cache.py` (one download per URL per run).
This module joins them and turns every failure into a short `ToolException` the
model can act on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import ToolException, tool

from fusion.core.errors import ConfigError
from fusion.core.settings import load_settings_async
from fusion.tools import download as dl
from fusion.tools.download import FetchError
from fusion.tools.extract_pool import ExtractFailed, Job, pool
from fusion.tools.fetch_cache import RunCache, run_key
from fusion.tools.framing import cut, fence
from fusion.tools.run_context import WebToolRuntime, context_of

log = logging.getLogger(__name__)

ALLOW_PRIVATE_ENV = "FUSION_FETCH_ALLOW_PRIVATE"
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Page:
    """A fetched page, already cut to the run's character budget."""

    url: str
    title: str
    text: str
    marker: str
    truncated: bool

    def artifact(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "title": self.title,
            "chars": len(self.text),
            "truncated": self.truncated,
        }

    def for_model(self) -> str:
        title = f"Title: {self.title}\n\n" if self.title else ""
        body = f"{title}{self.text}" if self.text else f"{title}(the page has no text)"
        state = " (cut to fit)" if self.truncated else ""
        tail = f"\n{self.marker}" if self.marker else ""
        fenced: str = fence(body, what="page text")
        return f"Fetched {self.url}{state}\n{fenced}{tail}"


PAGES: RunCache[Page] = RunCache()


async def private_allowed() -> bool:
    """Whether private addresses may be fetched: `FUSION_FETCH_ALLOW_PRIVATE` if set
    (1/true/yes/on, anything else is no), else the config file's `fetch_allow_private`.
    """
    flag = os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower()
    if flag:
        return flag in _TRUE
    try:
        settings = await load_settings_async()
    except ConfigError as exc:
        raise ToolException(f"web_fetch is not usable: {exc}") from None
    return bool(settings.fetch_allow_private)


async def fetch_page(
    url: str, *, max_chars: int, allow_private: bool, limits: dl.FetchLimits | None = None
) -> Page:
    """Download, extract and cut one page, within the fetch's total time bound."""
    limits = limits or dl.LIMITS
    try:
        async with asyncio.timeout(limits.total_timeout):
            got = await dl.download(url, allow_private=allow_private, limits=limits)
            job = Job(
                body=got.body,
                kind=got.kind,
                charset=got.charset,
                url=got.url,
                enough_chars=max_chars,
                max_chars=min(max(max_chars, 0) + 1, limits.max_text_chars),
                max_pages=limits.max_pdf_pages,
                cpu_s=limits.extract_cpu_s,
                wall_s=limits.extract_wall_s,
            )
            text = await pool(limits.extract_memory).run(job)
    except TimeoutError:
        raise FetchError(
            f"fetching {url} took longer than {limits.total_timeout:g} s; gave up"
        ) from None
    except ExtractFailed as exc:
        raise FetchError(str(exc)) from None
    note = f"download stopped at {limits.max_bytes:,} bytes" if got.cut else ""
    complete = text.complete and not got.cut
    piece = cut(text.text, max_chars, complete=complete, note=note, total=text.chars)
    return Page(
        url=got.url,
        title=text.title,
        text=piece.text,
        marker=piece.marker,
        truncated=piece.truncated,
    )


@tool("web_fetch", response_format="content_and_artifact")
async def web_fetch(url: str, runtime: WebToolRuntime = None) -> tuple[str, dict[str, Any]]:
    """Read a web page (or a PDF, plain text or JSON document) at an http(s) URL.

    Returns the page's main text without menus or ads, cut to a length limit, inside
    a block marked as untrusted web content. Use it on URLs from web_search results
    or that the user gave. If it fails, try another source.
    """
    context = context_of(runtime)
    try:
        target = str(dl.parse_target(url))
        allowed = await private_allowed()
        page = await PAGES.get(
            run_key(),
            (target, context.fetch_max_chars, allowed),
            lambda: fetch_page(target, max_chars=context.fetch_max_chars, allow_private=allowed),
        )
    except ToolException:
        raise
    except Exception as exc:  # a bug or an odd server must not end the run
        log.warning("web_fetch %s failed unexpectedly", url, exc_info=True)
        raise ToolException(f"web_fetch failed on {url[:200]}: {type(exc).__name__}") from None
    return page.for_model(), page.artifact()


# Turn a ToolException into an error ToolMessage (status "error", content = the
# message) in the tool itself, so any ToolNode, whatever its handle_tool_errors,
# gives the model the clean message.
web_fetch.handle_tool_error = True

"""The panel's web tools: `web_search` (Tavily) and `web_fetch` (bounded, guarded HTTP).

Both are LangChain tools with `response_format="content_and_artifact"`: the content
is the text the model reads, the artifact the structured data the draft's sources are
built from. Their failures come back as error ToolMessages with a readable message.
`check_search_ready()` is for the CLI and fan-out, before any model is called.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from fusion.tools.fetch import web_fetch
from fusion.tools.search import check_search_ready, web_search

WEB_TOOLS: list[BaseTool] = [web_search, web_fetch]

__all__ = ["WEB_TOOLS", "check_search_ready", "web_fetch", "web_search"]

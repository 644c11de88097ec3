"""web_search against the scripted Tavily API: the text the model reads, the options
sent, and every failure turned into a readable tool error."""

from __future__ import annotations

import json
import time

import pytest
from tavily import AsyncTavilyClient

from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.tools import WEB_TOOLS, check_search_ready, web_search
from fusion.tools import search as search_module
from fusion.tools.framing import CLOSE, OPEN
from tests.fixtures.web import call_tool, run_tool_node
from tests.fixtures.web_server import ScriptedWebServer

RESULTS = [
    {
        "title": "Tide pools - Wikipedia",
        "url": "https://en.wikipedia.org/wiki/Tide_pool",
        "content": "A tide pool is a rocky pool on a seashore,\n  "
        "separated from the sea at low tide.",
    },
    {
        "title": "Life in a tide pool",
        "url": "https://example.org/tide",
        "content": "Anemones, crabs and small fish.",
    },
]


# -- readiness ----------------------------------------------------------------------


def test_check_search_ready_needs_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"TAVILY_API_KEY.*--no-web"):
        check_search_ready()

    monkeypatch.setenv("TAVILY_API_KEY", "  ")
    with pytest.raises(ConfigError):
        check_search_ready()

    monkeypatch.setenv("TAVILY_API_KEY", "tvly-test")
    check_search_ready()


async def test_search_without_a_key_fails_fast_without_calling_out(
    web: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAVILY_BASE_URL", web.origin)
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)

    message = await call_tool(web_search, {"query": "tide pools"})

    assert message.status == "error"
    assert "TAVILY_API_KEY" in message.content
    assert web.requests == []  # no silent fallback to Tavily's keyless mode


# -- what the model reads and the draft gets ----------------------------------------


async def test_results_for_the_model_and_the_draft(web_env: ScriptedWebServer) -> None:
    web_env.on_search(RESULTS)

    message = await call_tool(web_search, {"query": "tide pools"})

    assert message.status == "success"
    assert message.artifact == [
        {
            "url": "https://en.wikipedia.org/wiki/Tide_pool",
            "title": "Tide pools - Wikipedia",
            "snippet": "A tide pool is a rocky pool on a seashore, separated from the sea "
            "at low tide.",
        },
        {
            "url": "https://example.org/tide",
            "title": "Life in a tide pool",
            "snippet": "Anemones, crabs and small fish.",
        },
    ]
    content = message.content
    assert content.startswith("2 results for 'tide pools'")
    assert "1. Tide pools - Wikipedia\n   URL: https://en.wikipedia.org/wiki/Tide_pool\n" in content
    assert "2. Life in a tide pool\n   URL: https://example.org/tide\n" in content
    assert content.index(OPEN) < content.index("1. Tide pools") < content.index(CLOSE)


async def test_no_results_is_not_an_error(web_env: ScriptedWebServer) -> None:
    message = await call_tool(web_search, {"query": "zzqx nothing"})

    assert message.status == "success"
    assert message.content.startswith("No results for 'zzqx nothing'")
    assert message.artifact == []


async def test_long_snippets_are_shortened(web_env: ScriptedWebServer) -> None:
    web_env.on_search(lambda q: [{"title": q, "url": "https://a.example/", "content": "w " * 2000}])

    message = await call_tool(web_search, {"query": "long"})

    snippet = message.artifact[0]["snippet"]
    assert len(snippet) <= search_module.SNIPPET_CHARS
    assert snippet.endswith("…")


async def test_the_query_and_key_reach_tavily(web_env: ScriptedWebServer) -> None:
    seen: list[str] = []
    web_env.on_search(lambda query: seen.append(query) or RESULTS[:1])

    await call_tool(web_search, {"query": "  tide   pools\n"})

    assert seen == ["tide pools"]
    request = web_env.requests[0]
    assert (request.method, request.path) == ("POST", "/search")
    assert request.headers["Authorization"] == "Bearer tvly-test"


async def test_options_come_from_the_context(web_env: ScriptedWebServer) -> None:
    context = Context(search_max_results=3, search_depth="advanced", search_topic="news")

    await call_tool(web_search, {"query": "q"}, context)
    await call_tool(web_search, {"query": "q"})  # no context: the defaults
    await call_tool(web_search, {"query": "q"}, Context(search_max_results=20))
    with pytest.raises(ConfigError, match="search_max_results is 99: use 1 to 20"):
        Context(search_max_results=99)  # refused before any search, not clamped

    sent = web_env.searches()
    options = [{k: s[k] for k in ("max_results", "search_depth", "topic")} for s in sent]
    assert options == [
        {"max_results": 3, "search_depth": "advanced", "topic": "news"},
        {"max_results": 5, "search_depth": "basic", "topic": "general"},
        {"max_results": 20, "search_depth": "basic", "topic": "general"},
    ]


# -- failures reach the model as tool errors; the run goes on -----------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, "rate limit or usage quota reached (429)"),
        (401, "rejected the API key (401)"),
        (432, "refused the request (plan or key limits)"),
        (433, "refused the request (plan or key limits)"),
        (400, "rejected this query (400)"),
        (500, "answered HTTP 500"),
        (503, "answered HTTP 503"),
    ],
)
async def test_tavily_errors_become_readable_tool_errors(
    web_env: ScriptedWebServer, status: int, expected: str
) -> None:
    web_env.on_search(RESULTS)
    web_env.fail_search(status, detail="scripted detail")

    [failed] = await run_tool_node(WEB_TOOLS, [("web_search", {"query": "first"})])
    [recovered] = await run_tool_node(WEB_TOOLS, [("web_search", {"query": "second"})])

    assert failed.status == "error"
    assert failed.content.startswith("web search failed: ")
    assert expected in failed.content
    assert failed.artifact is None
    assert recovered.status == "success"  # the next call works: nothing crashed
    assert len(recovered.artifact) == 2


async def test_a_slow_search_times_out(
    web_env: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "TIMEOUT_S", 0.2)
    web_env.on_search(lambda query: time.sleep(1.0) or [])

    message = await call_tool(web_search, {"query": "slow"})

    assert message.status == "error"
    assert "timed out" in message.content


async def test_an_unreachable_search_service(
    web_env: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = ScriptedWebServer()
    monkeypatch.setenv("TAVILY_BASE_URL", closed.origin)
    closed.stop()

    message = await call_tool(web_search, {"query": "anything"})

    assert message.status == "error"
    assert "could not reach the search service" in message.content


async def test_empty_query_is_refused(web_env: ScriptedWebServer) -> None:
    message = await call_tool(web_search, {"query": "   "})
    assert message.status == "error"
    assert web_env.requests == []


# -- the scripted server speaks Tavily's wire format --------------------------------


async def test_server_matches_the_tavily_client(web_env: ScriptedWebServer) -> None:
    web_env.on_search(RESULTS)
    web_env.page("/article", "Article text.", content_type="text/plain")
    client = AsyncTavilyClient(api_key="tvly-test", api_base_url=web_env.origin)
    try:
        found = await client.search("tide", max_results=1)
        extracted = await client.extract([web_env.url("/article"), web_env.url("/missing")])
    finally:
        await client.close()

    assert found["query"] == "tide"
    assert [r["url"] for r in found["results"]] == [RESULTS[0]["url"]]
    assert extracted["results"] == [
        {"url": web_env.url("/article"), "raw_content": "Article text.", "images": []}
    ]
    assert [f["url"] for f in extracted["failed_results"]] == [web_env.url("/missing")]
    assert json.loads(web_env.requests[0].body)["max_results"] == 1


async def test_results_at_other_schemes_are_dropped(web_env: ScriptedWebServer) -> None:
    """Only an http(s) address with a host can be fetched or cited."""
    web_env.on_search(
        [
            {"title": "Script", "url": "javascript:alert(1)", "content": "a"},
            {"title": "Kept", "url": " HTTPS://Example.org/kept ", "content": "b"},
            {"title": "Data", "url": "data:text/html,<b>x</b>", "content": "c"},
            {"title": "File", "url": "file:///etc/passwd", "content": "d"},
            {"title": "No host", "url": "http:nowhere", "content": "e"},
            {"title": "Broken", "url": "http://[::1/", "content": "f"},
            {"title": "Plain", "url": "http://example.org/plain", "content": "g"},
        ]
    )

    message = await call_tool(web_search, {"query": "schemes"}, Context(search_max_results=10))

    urls = ["HTTPS://Example.org/kept", "http://example.org/plain"]
    assert [item["url"] for item in message.artifact] == urls
    assert message.content.startswith("2 results for 'schemes'")
    for dropped in ("javascript:", "data:", "file:", "nowhere", "[::1", "Script", "Broken"):
        assert dropped not in message.content

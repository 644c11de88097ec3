"""search_provider searxng: web_search against a SearXNG-shaped JSON API (GET
/search?q=...&format=json), with no API key anywhere; failures are readable tool
errors, and a missing SEARXNG_URL is refused before the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.core.context import Context
from fusion.core.errors import ConfigError, SetupError
from fusion.tools import WEB_TOOLS, check_search_ready, web_search
from tests.fixtures.web import call_tool, run_tool_node
from tests.fixtures.web_server import ScriptedWebServer

SEARXNG = Context(search_provider="searxng")
RESULTS = [
    {"title": "Tide pools", "url": "https://example.org/tide", "content": "Rocky   pools."},
    {"title": "Anemones", "url": "https://example.org/anemone", "content": "Soft animals."},
    {"title": "No address", "url": "", "content": "dropped"},
    {"title": "Script", "url": "javascript:alert(1)", "content": "dropped: not http(s)"},
]


@pytest.fixture
def searxng(web: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedWebServer:
    monkeypatch.setenv("SEARXNG_URL", web.origin + "/")
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    return web


async def test_results_reach_the_model_without_any_key(searxng: ScriptedWebServer) -> None:
    searxng.on_search(RESULTS)

    message = await call_tool(web_search, {"query": " tide  pools "}, SEARXNG)

    assert message.status == "success"
    assert message.artifact == [
        {"url": "https://example.org/tide", "title": "Tide pools", "snippet": "Rocky pools."},
        {"url": "https://example.org/anemone", "title": "Anemones", "snippet": "Soft animals."},
    ]
    assert "https://example.org/anemone" in message.content
    (request,) = searxng.requests
    assert request.method == "GET" and "Authorization" not in request.headers
    (params,) = searxng.searxng_searches()
    assert params["q"] == ["tide pools"] and params["format"] == ["json"]
    assert params["categories"] == ["general"]


async def test_max_results_and_topic_apply(searxng: ScriptedWebServer) -> None:
    many = [{"title": f"r{n}", "url": f"https://example.org/{n}", "content": ""} for n in range(9)]
    searxng.on_search(many)
    context = Context(search_provider="searxng", search_max_results=3, search_topic="news")

    message = await call_tool(web_search, {"query": "q"}, context)

    assert len(message.artifact) == 3
    assert searxng.searxng_searches()[0]["categories"] == ["news"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, "rate limiting (429)"), (500, "answered HTTP 500"), (502, "answered HTTP 502")],
)
async def test_failures_become_readable_tool_errors(
    searxng: ScriptedWebServer, status: int, expected: str
) -> None:
    searxng.on_search(RESULTS)
    searxng.fail_search(status)

    [failed] = await run_tool_node(WEB_TOOLS, [("web_search", {"query": "a"})], SEARXNG)
    [recovered] = await run_tool_node(WEB_TOOLS, [("web_search", {"query": "b"})], SEARXNG)

    assert failed.status == "error" and expected in failed.content
    assert recovered.status == "success" and len(recovered.artifact) == 2


async def test_an_instance_without_the_json_format_is_explained(
    searxng: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the scripted instance answers 403 to anything but format=json, like a real one
    # whose settings.yml does not list json; the tool always asks for json, so send
    # it to a path that refuses
    monkeypatch.setenv("SEARXNG_URL", searxng.origin + "/nothing-here")
    message = await call_tool(web_search, {"query": "q"}, SEARXNG)
    assert message.status == "error" and "answered HTTP 404" in message.content

    searxng.page("/html-only/search", "<html>Forbidden</html>", status=403)
    monkeypatch.setenv("SEARXNG_URL", searxng.origin + "/html-only")
    message = await call_tool(web_search, {"query": "q"}, SEARXNG)
    assert message.status == "error" and "search.formats" in message.content


def test_a_missing_or_bad_address_is_refused_before_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEARXNG_URL", raising=False)
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    with pytest.raises(SetupError, match=r"SEARXNG_URL.*--no-web"):
        check_search_ready(SEARXNG)
    monkeypatch.setenv("SEARXNG_URL", "searx.local:8888")
    with pytest.raises(SetupError, match="http:// or https://"):
        check_search_ready(SEARXNG)
    monkeypatch.setenv("SEARXNG_URL", "http://127.0.0.1:8888")
    check_search_ready(SEARXNG)  # no Tavily key needed
    with pytest.raises(SetupError, match="TAVILY_API_KEY"):
        check_search_ready(Context())


def test_an_unknown_provider_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="search_provider is 'bing': give one of tavily, searxng"):
        Context(search_provider="bing")  # type: ignore[arg-type]


async def test_the_config_file_chooses_the_backend_when_the_run_does_not(
    searxng: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('search_provider = "searxng"\n')
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    searxng.on_search(RESULTS)

    check_search_ready(Context())  # no Tavily key: searxng needs none
    message = await call_tool(web_search, {"query": "q"}, Context())
    assert message.status == "success" and len(searxng.searxng_searches()) == 1

    with pytest.raises(SetupError, match="TAVILY_API_KEY"):
        check_search_ready(Context(search_provider="tavily"))  # the run's own choice wins
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('search_provider = "bing"\n')
    monkeypatch.setenv("FUSION_CONFIG", str(unknown))
    with pytest.raises(ConfigError, match="search_provider"):
        check_search_ready(Context())

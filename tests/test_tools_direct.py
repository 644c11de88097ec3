"""The web tools called as LangChain users call a tool, outside any graph: plain
`ainvoke({...})` with the default options, no runtime, no validation error. Inside a
run they read the run's `Context` (tests/test_web_search.py, tests/test_web_in_run.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fusion.core.context import Context
from fusion.tools import web_fetch, web_search
from tests.fixtures.web import run_tool_node
from tests.fixtures.web_server import ScriptedWebServer


async def test_web_fetch_reads_a_page_when_called_directly(web_env: ScriptedWebServer) -> None:
    url = web_env.page("/otters", "<html><title>Otters</title><p>Otters hold hands.</p></html>")

    text = await web_fetch.ainvoke({"url": url})

    assert isinstance(text, str)
    assert "Otters hold hands." in text
    assert web_env.hits("/otters") == 1


async def test_web_fetch_called_directly_gets_the_default_character_budget(
    web_env: ScriptedWebServer,
) -> None:
    long = "word " * (Context().fetch_max_chars // 2)
    url = web_env.page("/long.txt", long, content_type="text/plain")

    text = await web_fetch.ainvoke({"url": url})

    assert "word word" in text
    assert f"[cut: showing {Context().fetch_max_chars:,} of " in text


async def test_web_search_called_directly_sends_the_default_options(
    web_env: ScriptedWebServer,
) -> None:
    web_env.on_search([{"url": "https://a.example/otters", "title": "Otters", "content": "x"}])

    text = await web_search.ainvoke({"query": "otters"})

    assert "https://a.example/otters" in text
    (sent,) = web_env.searches()
    defaults = Context()
    assert (sent["max_results"], sent["search_depth"], sent["topic"]) == (
        defaults.search_max_results,
        defaults.search_depth,
        defaults.search_topic,
    )


def test_the_model_sees_no_runtime_argument() -> None:
    for tool, arg in ((web_fetch, "url"), (web_search, "query")):
        schema = tool.tool_call_schema.model_json_schema()
        assert set(schema["properties"]) == {arg}, tool.name
        assert schema["required"] == [arg], tool.name


def test_a_direct_call_that_fails_returns_a_readable_error_not_a_validation_error() -> None:
    """The issue's own command, in a fresh interpreter, on an address nothing serves."""
    code = (
        "import asyncio; from fusion.tools import web_fetch; "
        "print(asyncio.run(web_fetch.ainvoke({'url': 'http://127.0.0.1:9/x'})))"
    )
    env = {"FUSION_FETCH_ALLOW_PRIVATE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "127.0.0.1" in done.stdout
    assert "validation" not in (done.stdout + done.stderr).lower()
    assert "Field required" not in done.stdout + done.stderr


async def test_the_readme_example_runs(web_env: ScriptedWebServer) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("**The web tools alone.**", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    url = web_env.page("/ex", "<html><title>Ex</title><p>Example page text.</p></html>")
    web_env.on_search([{"url": url, "title": "Tide pools", "content": "rocky pools"}])
    code = code.replace("https://example.org", url)
    body = "".join(f"    {line}\n" for line in code.splitlines())
    scope: dict[str, object] = {}
    exec(f"async def example():\n{body}    return page, hits\n", scope)
    page, hits = await scope["example"]()  # type: ignore[operator]
    assert "Example page text." in str(page)
    assert "Tide pools" in str(hits)


async def test_inside_a_run_the_tools_read_the_runs_context(web_env: ScriptedWebServer) -> None:
    url = web_env.page("/long2.txt", "word " * 2000, content_type="text/plain")
    web_env.on_search([{"url": url, "title": "Long", "content": "x"}])
    context = Context(fetch_max_chars=500, search_max_results=3, search_topic="news")

    fetched, searched = await run_tool_node(
        [web_fetch, web_search],
        [("web_fetch", {"url": url}), ("web_search", {"query": "q"})],
        context,
    )

    assert fetched.status == "success" and "[cut: showing 500 of " in str(fetched.content)
    assert searched.status == "success"
    (sent,) = web_env.searches()
    assert (sent["max_results"], sent["topic"]) == (3, "news")

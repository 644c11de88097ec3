"""Panelists' tool loops: search, fetch, budget, and no-web runs, over real local HTTP."""

from __future__ import annotations

from typing import Any

from fusion import fuse
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, researcher, tool_addict

ARTICLE = """<html><head><title>Harbour records</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>Harbour records</h1>
<p>The harbour master keeps a ledger of every ship that docks here, going back two
centuries, and the archive is open to the public on weekdays.</p>
<p>FACT: the lighthouse keeper's cat is called Ziggurat-77.</p>
</article></body></html>"""


async def test_fact_only_on_fetched_page_reaches_draft_answer_and_sources(
    llm_env: ScriptedLLMServer, web_env: Any
) -> None:
    page_url = web_env.url("/harbour")
    web_env.page("/harbour", ARTICLE)
    web_env.on_search(
        lambda query: [{"title": "Harbour records", "url": page_url, "content": "ledger"}]
    )
    llm_env.script("vendor/researcher", researcher("harbour cat name"))
    llm_env.script("vendor/plain", Text("I do not know the cat's name."))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse(
        "What is the lighthouse keeper's cat called?",
        panel=["vendor/researcher", "vendor/plain"],
        judge="vendor/judge",
    )

    assert result.status == "ok", result
    by_model = {r.model: r for r in result.responses}
    draft = by_model["vendor/researcher"]
    assert "Ziggurat-77" in draft.text
    assert draft.tool_calls == 2
    fetched = [s for s in draft.sources if s.via == "fetch"]
    assert [s.url for s in fetched] == [page_url]
    assert result.answer is not None and "Ziggurat-77" in result.answer
    assert "Ziggurat-77" not in by_model["vendor/plain"].text
    assert web_env.hits("/harbour") == 1
    # the fact was never in any search snippet: it came from the fetched page
    search_results = llm_env.requests_for("vendor/researcher")[1].tool_results
    assert "Ziggurat-77" not in search_results[0]


async def test_endless_tool_caller_is_cut_at_budget_and_still_drafts(
    llm_env: ScriptedLLMServer, web_env: Any
) -> None:
    web_env.on_search(lambda query: [])
    llm_env.script("vendor/addict", tool_addict)
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse("Q?", panel=["vendor/addict"], judge="vendor/judge", max_tool_calls=3)

    requests = llm_env.requests_for("vendor/addict")
    assert len(requests) == 4  # three rounds with tools, then one without
    assert [bool(r.tool_names) for r in requests] == [True, True, True, False]
    assert len(requests[-1].tool_results) == 3
    (response,) = result.responses
    assert response.status == "ok"
    assert response.tool_calls == 3
    assert response.text == "final answer after 3 tool results"
    assert result.status == "ok"


async def test_no_web_offers_panelists_no_tools(llm_env: ScriptedLLMServer) -> None:
    llm_env.script("vendor/a", Text("a"))
    llm_env.script("vendor/b", Text("b"))
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse("Q?", panel=["vendor/a", "vendor/b"], judge="vendor/judge", web=False)

    assert result.status == "ok"
    for model in ("vendor/a", "vendor/b"):
        (request,) = llm_env.requests_for(model)
        assert "tools" not in request.body
        assert request.tool_names == []

"""One download per URL per run: panelists of one run share pages, runs don't."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Send

from fusion.core.context import Context
from fusion.tools import web_fetch
from fusion.tools.fetch_cache import RunCache, run_key
from tests.fixtures.web import call_tool
from tests.fixtures.web_server import ScriptedWebServer


class PanelistState(MessagesState):
    name: str
    urls: list[str]


class ParentState(TypedDict):
    urls: list[str]
    panel: list[str]
    results: Annotated[list[ToolMessage], operator.add]


def build_parent(checkpointer: InMemorySaver | None = None) -> Any:
    """A parent graph that fans out to panelist subgraphs (as the Fusion graph does);
    each panelist asks, in turn, for every URL in `urls` through a ToolNode."""

    def ask(state: PanelistState) -> dict[str, Any]:
        done = sum(isinstance(m, ToolMessage) for m in state["messages"])
        url = state["urls"][done]
        call = {"name": "web_fetch", "args": {"url": url}, "id": f"{state['name']}-{done}"}
        return {"messages": [AIMessage("", tool_calls=[call])]}

    def more(state: PanelistState) -> str:
        done = sum(isinstance(m, ToolMessage) for m in state["messages"])
        return "ask" if done < len(state["urls"]) else END

    panelist = StateGraph(PanelistState, context_schema=Context)
    panelist.add_node("ask", ask)
    panelist.add_node("tools", ToolNode([web_fetch]))
    panelist.add_edge(START, "ask")
    panelist.add_edge("ask", "tools")
    panelist.add_conditional_edges("tools", more, ["ask", END])
    sub = panelist.compile()

    async def run_panelist(state: PanelistState) -> dict[str, Any]:
        out = await sub.ainvoke(state)
        return {"results": [m for m in out["messages"] if isinstance(m, ToolMessage)]}

    def fan_out(state: ParentState) -> list[Send]:
        return [
            Send("panelist", {"name": name, "urls": state["urls"], "messages": []})
            for name in state["panel"]
        ]

    parent = StateGraph(ParentState, context_schema=Context)
    parent.add_node("panelist", run_panelist)
    parent.add_conditional_edges(START, fan_out, ["panelist"])
    parent.add_edge("panelist", END)
    return parent.compile(checkpointer=checkpointer)


async def run_panel(graph: Any, urls: list[str], thread: str | None = None) -> list[ToolMessage]:
    config = {"configurable": {"thread_id": thread}} if thread else {}
    state = await graph.ainvoke(
        {"urls": urls, "panel": ["a", "b", "c"], "results": []}, config, context=Context()
    )
    return list(state["results"])


async def test_panelists_of_one_run_share_a_download(web_env: ScriptedWebServer) -> None:
    # Slow enough that the three panelists' fetches overlap in flight.
    url = web_env.page("/shared.txt", "shared page", content_type="text/plain", delay=0.3)
    graph = build_parent()

    results = await run_panel(graph, [url])

    assert [m.status for m in results] == ["success"] * 3
    assert all("shared page" in m.content for m in results)
    assert web_env.hits("/shared.txt") == 1

    await run_panel(graph, [url])  # a new run downloads again
    assert web_env.hits("/shared.txt") == 2


async def test_later_fetches_in_the_same_run_are_served_from_the_cache(
    web_env: ScriptedWebServer,
) -> None:
    first = web_env.page("/one.txt", "one", content_type="text/plain")
    second = web_env.page("/two.txt", "two", content_type="text/plain")
    graph = build_parent(InMemorySaver())

    await run_panel(graph, [first, second, first], thread="t-1")
    assert (web_env.hits("/one.txt"), web_env.hits("/two.txt")) == (1, 1)

    await run_panel(graph, [first], thread="t-1")  # same thread, new run
    assert web_env.hits("/one.txt") == 2


async def test_failures_are_not_cached(web_env: ScriptedWebServer) -> None:
    url = web_env.url("/later.txt")  # not there yet: 404
    graph = build_parent()

    results = await run_panel(graph, [url, url])
    assert [m.status for m in results] == ["error"] * 6
    assert "HTTP 404" in results[0].content
    assert web_env.hits("/later.txt") >= 2  # each panelist's second try goes out again


async def test_calls_outside_a_run_are_not_shared(web_env: ScriptedWebServer) -> None:
    url = web_env.page("/solo.txt", "solo", content_type="text/plain")

    await call_tool(web_fetch, {"url": url})
    await call_tool(web_fetch, {"url": url})

    assert web_env.hits("/solo.txt") == 2


def _latest(old: int, new: int) -> int:
    return new


async def test_run_key_is_one_object_per_run_across_sent_subgraphs() -> None:
    """The cache's key is LangGraph's `Runtime.control` as `get_runtime()` shows it from
    inside a panelist subgraph: the same for every branch of a run, new for the next
    run. A LangGraph release that changes this fails here."""
    seen: list[tuple[int, object]] = []

    class Branch(TypedDict):
        run: int

    def record(state: Branch) -> dict[str, Any]:
        seen.append((state["run"], run_key()))
        return {}

    inner = StateGraph(Branch)
    inner.add_node("record", record)
    inner.add_edge(START, "record")
    sub = inner.compile()

    class Outer(TypedDict):
        run: Annotated[int, _latest]  # three branches hand it back at once

    outer = StateGraph(Outer)
    outer.add_node("branch", sub)
    outer.add_conditional_edges(
        START, lambda s: [Send("branch", {"run": s["run"]}) for _ in range(3)], ["branch"]
    )
    graph = outer.compile()
    await graph.ainvoke({"run": 1})
    await graph.ainvoke({"run": 2})

    first = {id(key) for run, key in seen if run == 1}
    second = {id(key) for run, key in seen if run == 2}
    assert len(seen) == 6 and None not in {key for _, key in seen}
    assert len(first) == 1 and len(second) == 1 and first != second
    assert run_key() is None  # outside a graph: no run, no sharing


async def test_cache_deduplicates_in_flight_and_survives_a_cancelled_caller() -> None:
    cache: RunCache[str] = RunCache()
    loads = 0
    release = asyncio.Event()

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "page"

    first = asyncio.create_task(cache.get("run", "url", load))
    others = [asyncio.create_task(cache.get("run", "url", load)) for _ in range(3)]
    await asyncio.sleep(0.01)
    first.cancel()  # e.g. a panelist past its deadline
    release.set()

    assert await asyncio.gather(*others) == ["page"] * 3
    assert loads == 1
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await cache.get("run", "url", load) == "page"
    assert loads == 1
    assert await cache.get("other run", "url", load) == "page"
    assert loads == 2


async def test_cache_forgets_failures_and_stays_bounded() -> None:
    cache: RunCache[int] = RunCache(max_runs=2, max_entries=3)
    calls = 0

    async def boom() -> int:
        nonlocal calls
        calls += 1
        raise RuntimeError("down")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await cache.get("run", "url", boom)
    assert calls == 2

    async def value(n: int) -> int:
        return n

    for n in range(10):
        await cache.get("run", n, lambda n=n: value(n))
    assert len(cache._runs["run"]) == 3
    for run in ("r2", "r3", "r4"):
        await cache.get(run, 0, lambda: value(0))
    assert len(cache._runs) == 2

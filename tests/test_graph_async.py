"""Every node and routing edge of the graph has an async path.

LangGraph runs a sync node or edge through langchain's `run_in_executor`, which
starts a thread pool for each call: before the routing edges were made async, five
such hand-offs cost about a fifth of a three-panelist answer's CPU in `fusion serve`
(`python -m bench cpu`: 53 -> 43 ms). A new sync edge would quietly bring it back.
"""

from __future__ import annotations

import functools
from typing import Any

from langchain_core.runnables.config import run_in_executor
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

from fusion.graph import graph
from fusion.graph.panel import build_panel


def _callables(compiled: CompiledStateGraph[Any, Any, Any, Any]) -> dict[str, Any]:
    builder = compiled.builder
    found = {f"node {name}": spec.runnable for name, spec in builder.nodes.items()}
    for source, branches in builder.branches.items():
        found |= {f"edge {source} -> {name}": spec.path for name, spec in branches.items()}
    return found


def _handed_to_a_thread(part: Any) -> bool:
    """LangGraph gives a sync callable an async path that is `run_in_executor` on it."""
    afunc = part.afunc
    return isinstance(afunc, functools.partial) and afunc.func is run_in_executor


def test_no_node_or_edge_is_handed_to_a_thread() -> None:
    parts = _callables(graph) | _callables(build_panel())
    checked = {name: part for name, part in parts.items() if hasattr(part, "afunc")}
    # the panelist subgraph is a graph (async itself); every other part is a callable
    assert set(parts) - set(checked) == {"node panelist"}
    assert {"edge fan_out -> spawn_panel", "edge model -> route_after_model"} <= set(checked)
    threaded = sorted(name for name, part in checked.items() if _handed_to_a_thread(part))
    assert threaded == [], f"sync parts run in a new thread pool per call: {threaded}"


class _Counter(TypedDict):
    n: int


def _sync_step(state: _Counter) -> dict[str, Any]:
    return {"n": state["n"] + 1}


async def _async_step(state: _Counter) -> dict[str, Any]:
    return {"n": state["n"] + 1}


def _sync_route(state: _Counter) -> str:
    return END


def test_the_check_flags_a_sync_node_and_edge() -> None:
    """A control: if a LangGraph release wrapped sync callables another way, the test
    above would pass without checking anything; this one would fail first."""
    builder = StateGraph(_Counter)
    builder.add_node("step", _sync_step)
    builder.add_node("async_step", _async_step)
    builder.add_edge(START, "step")
    builder.add_edge("step", "async_step")
    builder.add_conditional_edges("async_step", _sync_route, [END])
    parts = _callables(builder.compile())

    threaded = sorted(name for name, part in parts.items() if _handed_to_a_thread(part))
    assert threaded == ["edge async_step -> _sync_route", "node step"]

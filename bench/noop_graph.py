"""A one-node graph, served next to Fusion by `langgraph dev` in the concurrency bench:
what a run costs the server itself, to tell it apart from what Fusion costs. Its node
is async, as Fusion's are: LangGraph would hand a sync one to a new thread pool."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    prompt: str
    status: str


async def done(state: State) -> dict[str, Any]:
    return {"status": "ok"}


builder = StateGraph(State)
builder.add_node("done", done)
builder.add_edge(START, "done")
builder.add_edge("done", END)
graph = builder.compile(name="noop")

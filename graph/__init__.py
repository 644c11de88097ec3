"""The Fusion graph: `graph` (no checkpointer, for langgraph.json and parent graphs)
and `build_graph(checkpointer=...)`."""

from __future__ import annotations

from fusion.graph.builder import build_graph, graph

__all__ = ["build_graph", "graph"]

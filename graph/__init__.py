"""The Fusion graph: `graph` (no checkpointer, for langgraph.json and parent graphs)
and `build_graph(checkpointer=...)`; both are built on first access."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build_graph", "graph"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("fusion.graph.builder"), name)
    raise AttributeError(f"module 'fusion.graph' has no attribute {name!r}")

"""The Fusion graph: fan_out -> panelist x N -> join -> judge.

`graph` is compiled without a checkpointer, for `langgraph.json` (the server
brings its own) and for parent graphs; `build_graph(checkpointer=...)` serves
the CLI, the Python API and tests.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from fusion.core.context import Context
from fusion.core.state import FusionState, InputState, OutputState
from fusion.graph.panel import build_panel
from fusion.nodes.draft import panelist_failed
from fusion.nodes.fan_out import PANELIST_NODE, fan_out, spawn_panel
from fusion.nodes.join import JUDGE_NODE, join, route_after_join
from fusion.nodes.judge import judge

FusionGraph = CompiledStateGraph[FusionState, Context, InputState, OutputState]


def build_graph(checkpointer: Checkpointer = None, **compile_kwargs: Any) -> FusionGraph:
    """The Fusion graph; pass a checkpointer to make runs resumable.

    Compiling takes about 10 ms, a tenth of a CPU core at 100 runs at once, so the
    graph is compiled once and each checkpointer gets a shallow copy of it.
    """
    if compile_kwargs:
        return _compile(checkpointer, **compile_kwargs)
    if checkpointer is None:
        return graph
    return graph.copy(update={"checkpointer": checkpointer})


def _compile(checkpointer: Checkpointer, **compile_kwargs: Any) -> FusionGraph:
    builder = StateGraph(
        FusionState, context_schema=Context, input_schema=InputState, output_schema=OutputState
    )
    builder.add_node("fan_out", fan_out)
    builder.add_node(PANELIST_NODE, build_panel(), error_handler=panelist_failed)
    builder.add_node("join", join)
    builder.add_node(JUDGE_NODE, judge)
    builder.add_edge(START, "fan_out")
    builder.add_conditional_edges("fan_out", spawn_panel, [PANELIST_NODE])
    builder.add_edge(PANELIST_NODE, "join")
    builder.add_conditional_edges("join", route_after_join, [JUDGE_NODE, END])
    builder.add_edge(JUDGE_NODE, END)
    return builder.compile(checkpointer=checkpointer, name="fusion", **compile_kwargs)


graph: FusionGraph = _compile(None)

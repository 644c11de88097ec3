"""The panelist subgraph: a model node, a tool node each for search and fetch, and
a draft node. Each panelist branch runs one instance, checkpointed in its own
namespace, so a resumed run picks a panelist up inside its tool loop."""

from __future__ import annotations

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from fusion.core.context import Context
from fusion.core.state import PanelistInput, PanelistOutput, PanelistState
from fusion.nodes.draft import write_draft
from fusion.nodes.panelist import (
    DRAFT_NODE,
    FETCH_NODE,
    SEARCH_NODE,
    call_model,
    route_after_model,
)
from fusion.tools import web_fetch, web_search

MODEL_NODE = "model"


def build_panel() -> CompiledStateGraph[PanelistState, Context, PanelistInput, PanelistOutput]:
    """Compile the panelist subgraph (it inherits the parent's checkpointer)."""
    builder = StateGraph(
        PanelistState,
        context_schema=Context,
        input_schema=PanelistInput,
        output_schema=PanelistOutput,
    )
    builder.add_node(MODEL_NODE, call_model)
    builder.add_node(SEARCH_NODE, ToolNode([web_search], handle_tool_errors=True))
    builder.add_node(FETCH_NODE, ToolNode([web_fetch], handle_tool_errors=True))
    builder.add_node(DRAFT_NODE, write_draft)
    builder.add_edge(START, MODEL_NODE)
    builder.add_conditional_edges(
        MODEL_NODE, route_after_model, [SEARCH_NODE, FETCH_NODE, DRAFT_NODE]
    )
    builder.add_edge(SEARCH_NODE, MODEL_NODE)
    builder.add_edge(FETCH_NODE, MODEL_NODE)
    return builder.compile(name="panelist")

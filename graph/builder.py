r"""The Fusion graph, the file to read first: the flow of the README's "How it works".

    START -> fan_out --Send--> panelist (x N, in parallel) --> join --> judge --> END
                               | model <-> search / fetch |        \-> END (too few drafts)
                               \--------- draft ----------/

What each step reads from the run's state (`fusion.core.state.FusionState`) and
writes back. Every node also reads the run's `Context` (`fusion.core.context`).

  fan_out      nodes/fan_out.py
    reads      prompt or messages
    writes     question, panel, judge_model, deadline_s; clears the outputs of an
               earlier run on the same thread
  spawn_panel  (edge) reads panel (or rerun, on a resume), deadline_s; one Send per
               panelist, cut at the deadline
  panelist     graph/panel.py, its own state: model, conversation, messages, calls
    writes     responses (+1 draft); on failure, panelist_failed adds to
               failed_models and responses
  join         nodes/join.py
    reads      responses
    writes     too few drafts: status (failed), failure_reason, usage
  route_after_join  (edge) reads failure_reason: judge, or END
  judge        nodes/judge.py
    reads      question, messages, responses, failed_models, panel, judge_model,
               rejudge_of; on a resume judge_calls, judge_answer, analysis
    writes     status, answer, analysis, usage, judge_labels, judge_calls,
               judge_answer, judge_mode, answer_truncated, failure_reason,
               failure_message; messages (+1, the answer) when the input was messages

`graph` is compiled without a checkpointer, for `langgraph.json` (the server brings
its own) and for parent graphs; `build_graph(checkpointer=...)` serves the CLI, the
Python API and tests.
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


def _compile(checkpointer: Checkpointer, **compile_kwargs: Any) -> FusionGraph:
    builder = StateGraph(
        FusionState, context_schema=Context, input_schema=InputState, output_schema=OutputState
    )
    # 1. check the input and plan the run, then send one branch per panelist
    builder.add_node("fan_out", fan_out)
    builder.add_edge(START, "fan_out")
    builder.add_conditional_edges("fan_out", spawn_panel, [PANELIST_NODE])
    # 2. each panelist: its own subgraph (model <-> tools, then draft); a failure is
    #    recorded by `panelist_failed` and never cancels the others
    builder.add_node(PANELIST_NODE, build_panel(), error_handler=panelist_failed)
    builder.add_edge(PANELIST_NODE, "join")
    # 3. gather the drafts; too few for the quorum ends the run here
    builder.add_node("join", join)
    builder.add_conditional_edges("join", route_after_join, [JUDGE_NODE, END])
    # 4. the judge analyses the drafts and writes the answer
    builder.add_node(JUDGE_NODE, judge)
    builder.add_edge(JUDGE_NODE, END)
    return builder.compile(checkpointer=checkpointer, name="fusion", **compile_kwargs)


graph: FusionGraph = _compile(None)


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

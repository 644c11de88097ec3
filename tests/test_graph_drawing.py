"""A snapshot of the graph's drawing: a change to the wiring shows up as a diff here.

After an intended change, rewrite it with
    FUSION_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_graph_drawing.py
and review the diff of tests/snapshots/graph.mmd.
"""

from __future__ import annotations

import os
from pathlib import Path

from fusion.graph import graph

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.mmd"


def test_the_graph_draws_as_its_snapshot() -> None:
    drawn = graph.get_graph(xray=True).draw_mermaid()
    if os.environ.get("FUSION_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text(), "the wiring changed: see this file's docstring"


def test_the_drawing_names_every_step_of_the_readme_flow() -> None:
    drawn = graph.get_graph(xray=True).draw_mermaid()
    for step in ("fan_out", "panelist", "model", "search", "fetch", "draft", "join", "judge"):
        assert f"({step}" in drawn or f"subgraph {step}" in drawn, step

"""`fusion serve` freezes its start-up heap (fusion.serve.heap): checked in a child
interpreter, since freezing this one would keep every test's objects alive."""

from __future__ import annotations

import json
import subprocess
import sys

from fusion.serve.heap import YOUNG_THRESHOLD

PROBE = """
import gc, json, sys
from fusion.serve.heap import settle
before = gc.get_freeze_count()
settle()
print(json.dumps({
    "before": before,
    "frozen": gc.get_freeze_count(),
    "threshold": gc.get_threshold()[0],
    "graph_loaded": "fusion.graph.builder" in sys.modules,
}))
"""


def test_settle_freezes_what_start_up_built_and_raises_the_young_threshold() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True
    )
    probe = json.loads(done.stdout)
    assert probe["before"] == 0
    # LangGraph, LangChain and the OpenAI SDK alone leave far more than this alive
    assert probe["frozen"] > 50_000
    assert probe["threshold"] == YOUNG_THRESHOLD
    assert probe["graph_loaded"]  # the first answer no longer pays the graph's import

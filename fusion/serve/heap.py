"""`fusion serve` owns its process, so once it has started it moves what its imports
built out of the garbage collector's way.

A served answer allocates tens of thousands of short-lived objects. Each time the
collector's oldest generation comes due it walks every live object, and once LangGraph,
LangChain and the OpenAI SDK are loaded that is about 200,000 of them, 190 ms a pass
(on the bench, a pass every 30 answers or so: 6 ms an answer). `gc.freeze()` puts
everything alive after start-up in a generation the collector never scans; it is what
the `gc` documentation advises for a long-running server. The youngest generation's
threshold is raised too: at CPython's 700 allocations a served answer ran about a dozen
young collections, each walking the same live request objects again.

The LangGraph server (`langgraph.json`'s `http.app`) owns its own process and is left
as it is; so are tests that build the app in-process.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Import what the first answer would, then freeze the heap and raise the young
    generation's threshold. Call once, before serving."""
    import fusion.api
    import fusion.graph.builder  # noqa: F401  (compiles the graph)

    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)

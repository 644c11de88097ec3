"""Start `langgraph dev` (the in-memory LangGraph server) pointed at scripted servers.

The platform tests' own launcher (`tests.fixtures.langgraph_dev`: no `.env`, no real
or LangSmith keys, nothing sent to the internet, readiness and shutdown), plus a
one-node graph (`noop`, the server's own floor) and `--n-jobs-per-worker`, so N runs
at once are not queued behind the default 10.
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.langgraph_dev import LangGraphDev, start_langgraph_dev

NOOP_GRAPH = Path(__file__).resolve().parent / "noop_graph.py"


def start_dev_server(env: dict[str, str], home: Path, n_jobs_per_worker: int = 10) -> LangGraphDev:
    """The server on a free port, serving `fusion` and `noop` with `env`; returns once
    `/ok` answers."""
    home.mkdir(parents=True, exist_ok=True)
    return start_langgraph_dev(
        home,
        env,
        graphs={"noop": f"{NOOP_GRAPH}:graph"},
        extra_args=["--n-jobs-per-worker", str(n_jobs_per_worker)],
    )

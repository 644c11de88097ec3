"""Start `langgraph dev` (the in-memory LangGraph server) pointed at scripted servers.

The configuration, the environment rules (no `.env`, no real or LangSmith keys, nothing
sent to the internet), readiness and shutdown are the platform tests' own, imported
from `tests.fixtures.langgraph_dev`; this adds a one-node graph (`noop`, the server's
own floor) and `--n-jobs-per-worker`, so N runs at once are not queued behind the
default 10.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.langgraph_dev import (
    DROPPED_ENV,
    OFFLINE_ENV,
    _stop,
    _wait_ready,
    free_port,
    served_config,
)

NOOP_GRAPH = Path(__file__).resolve().parent / "noop_graph.py"


@dataclass
class DevServer:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    startup_s: float

    def stop(self) -> None:
        _stop(self.proc)


def start_dev_server(env: dict[str, str], home: Path, n_jobs_per_worker: int = 10) -> DevServer:
    """`langgraph dev --no-browser --no-reload` on a free port, serving `fusion` and
    `noop`, with `env` as its environment file; returns once `/ok` answers."""
    home.mkdir(parents=True, exist_ok=True)
    server_env = env | OFFLINE_ENV
    config = served_config(server_env)
    config["graphs"] = config["graphs"] | {"noop": f"{NOOP_GRAPH}:graph"}
    config_file = home / "langgraph.json"
    config_file.write_text(json.dumps(config, indent=2))
    port = free_port()
    command = [
        shutil.which("langgraph") or "langgraph",
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n-jobs-per-worker",
        str(n_jobs_per_worker),
        "--config",
        str(config_file),
    ]
    full_env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    full_env |= server_env | {"HOME": str(home)}
    log = home / "server.log"
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=home,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, url, log)
    except BaseException:  # pytest.fail's exception is a BaseException
        _stop(proc)
        raise
    return DevServer(url, proc, log, time.monotonic() - started)

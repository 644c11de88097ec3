"""Two `fusion serve` replicas on one PostgreSQL database: a run started on one is
listed, shown and resumed from the other; the one running it is killed with SIGKILL
mid-run, and the other finishes it with no draft paid twice."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.checkpoints import saved_writes, wait_for
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, responses_in
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.serve import SERVER_KEY, free_port, launch_server, stop_server

PANEL = ["vendor/fast-a", "vendor/fast-b", "vendor/slow-c"]
AUTH = {"Authorization": f"Bearer {SERVER_KEY}"}


@dataclass
class Replica:
    origin: str
    proc: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.origin, headers=AUTH, timeout=60)


@pytest.fixture
def replicas(
    llm_server: ScriptedLLMServer, postgres_server: PostgresServer, tmp_path: Path
) -> Iterator[tuple[list[Replica], dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "TAVILY_API_KEY")}
    env |= {
        "HOME": str(tmp_path),
        "FUSION_DB": postgres_server.create_database(),
        "FUSION_BASE_URL": llm_server.base_url,
        "FUSION_API_KEY": "test-key",
        "FUSION_SERVER_API_KEY": SERVER_KEY,
    }
    started: list[Replica] = []
    try:
        for name in ("one", "two"):
            port = free_port()
            proc = launch_server(env, port, tmp_path / f"{name}.log")
            started.append(Replica(f"http://127.0.0.1:{port}", proc))
        yield started, env
    finally:
        for replica in started:
            stop_server(replica.proc)


def test_a_replica_killed_mid_run_is_finished_by_the_other_with_no_draft_paid_twice(
    replicas: tuple[list[Replica], dict[str, str]], llm_env: ScriptedLLMServer
) -> None:
    (one, two), env = replicas
    llm_env.script("vendor/fast-a", Text("draft A", cost=0.001))
    llm_env.script("vendor/fast-b", Text("draft B", cost=0.001))
    llm_env.script("vendor/slow-c", Hang())
    llm_env.script("vendor/judge", echo_judge)
    form = {"prompt": "Q?", "panel": "\n".join(PANEL), "judge": "vendor/judge", "web_set": "1"}
    with one.client() as client:
        asked = client.post("/ask", data=form)
    assert asked.status_code == 303, asked.text
    thread_id = asked.headers["location"].removeprefix("/runs/")
    db = env["FUSION_DB"]
    wait_for(lambda: saved_writes(db, thread_id, "responses") >= 3, "two drafts on replica one")

    with two.client() as client:
        assert thread_id in client.get("/runs").text  # listed by the other replica
        shown = client.get(f"/runs/{thread_id}")
        assert shown.status_code == 200 and "draft A" in shown.text
        busy = client.post(f"/runs/{thread_id}/resume")
    # replica one still runs it: the other refuses, naming it
    assert busy.status_code == 409
    assert f"fusion serve (web page) (pid {one.proc.pid} on {socket.gethostname()}" in busy.text

    os.kill(one.proc.pid, signal.SIGKILL)
    one.proc.wait(timeout=30)
    llm_env.reset()
    llm_env.script("vendor/slow-c", Text("draft C", cost=0.001))
    llm_env.script("vendor/judge", echo_judge)
    with two.client() as client:
        resumed = client.post(f"/runs/{thread_id}/resume")
        assert resumed.status_code == 303, resumed.text
        wait_for(lambda: "draft C" in client.get(f"/runs/{thread_id}/read").text, "the answer")

    shown_cli = run_fusion("show", thread_id, "--json", env=env)
    assert shown_cli.returncode == 0, shown_cli.stderr
    result = json.loads(shown_cli.stdout)["result"]
    assert result["status"] == "ok"
    assert sorted(r["model"] for r in result["responses"]) == PANEL
    # the scripted server's log since the kill: no finished draft paid again
    assert llm_env.requests_for("vendor/fast-a") == []
    assert llm_env.requests_for("vendor/fast-b") == []
    assert len(llm_env.requests_for("vendor/slow-c")) == 1
    (judged,) = llm_env.requests_for("vendor/judge")
    assert sorted(responses_in(judged).values()) == ["draft A", "draft B", "draft C"]

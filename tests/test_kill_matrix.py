"""Resume works from the first moment: the real `fusion ask` is SIGKILLed right after
`thread:` is printed, right after `panelist_started`, and right after every durable
checkpoint write of the run (every node boundary, in every namespace), then resumed
with `fusion resume`. A call whose result was on disk is never paid for again.

The matrix is printed (run with `-s`) in the form the README shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import ChatRequest, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.web_server import ScriptedWebServer

ROOT = Path(__file__).resolve().parents[1]
SEARCH = "searcher"  # one web_search round, then its draft: two calls
DIRECT = "direct"  # its draft at once: one call
JUDGE = "judge"  # the answer, then the analysis: two calls
CLEAN_CALLS = {SEARCH: 2, DIRECT: 1, JUDGE: 2}


def models(k: int) -> dict[str, str]:
    return {role: f"vendor/{role}-{k}" for role in CLEAN_CALLS}


def script(llm: ScriptedLLMServer, k: int) -> None:
    names = models(k)

    def searcher(request: ChatRequest) -> Text | ToolCalls:
        if not request.tool_results:
            return ToolCalls([("web_search", {"query": f"tides {k}"})])
        return Text(f"searched draft {k}")

    llm.script(names[SEARCH], searcher)
    llm.script(names[DIRECT], lambda r: Text(f"direct draft {k}"))
    llm.script(names[JUDGE], echo_judge)


@dataclass
class Row:
    point: str
    killed: bool
    persisted: Counter[str]
    first_life: Counter[str]
    second_life: Counter[str]
    searches: tuple[int, int]
    status: str
    seconds: float

    def repaid_finished(self) -> int:
        """Calls made again although their result was on disk when the run died."""
        return sum(
            max(self.second_life[r] - (CLEAN_CALLS[r] - self.persisted[r]), 0)
            for r in CLEAN_CALLS
        )

    def repaid_in_flight(self) -> int:
        """Calls answered by the server whose result the killed process had not yet
        saved (a sibling panelist mid-call): made again, as they must be."""
        return sum(max(self.first_life[r] - self.persisted[r], 0) for r in CLEAN_CALLS)


def ask_args(k: int) -> list[str]:
    names = models(k)
    return [
        "ask", "Q?", "--json", "--max-tool-calls", "1", "--judge", names[JUDGE],
        "--panel", names[SEARCH], "--panel", names[DIRECT],
    ]  # fmt: skip


def first_life(spec: str, k: int, env: dict[str, str], log: Path) -> tuple[str, int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.kill_at", spec, str(log), "--", *ask_args(k)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    lines = [x for x in proc.stderr.splitlines() if x.startswith("thread: ")]
    if lines:
        return lines[0].removeprefix("thread: "), proc.returncode, proc.stderr
    # killed between saving the run and printing its ID: `fusion runs` lists it
    listed = run_fusion("runs", "--json", env=env)
    assert listed.returncode == 0, f"{spec}: {listed.stderr}\n{proc.stderr}"
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "interrupted" and run["question"] == "Q?", run
    return run["thread_id"], proc.returncode, proc.stderr


def log_entries(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def role_counts(llm: ScriptedLLMServer, k: int, *, answered_only: bool = False) -> Counter[str]:
    counts: Counter[str] = Counter()
    for role, model in models(k).items():
        requests = llm.requests_for(model)
        counts[role] = sum(1 for r in requests if not answered_only or r.status == 200)
    return counts


def run_point(
    spec: str, k: int, llm: ScriptedLLMServer, web: ScriptedWebServer, base: dict[str, str]
) -> Row:
    env = dict(base, FUSION_DB=str(Path(base["HOME"]) / f"runs-{k}.sqlite"))
    log = Path(base["HOME"]) / f"writes-{k}.jsonl"
    thread_id, code, stderr = first_life(spec, k, env, log)
    killed = code == -9
    assert killed or spec.startswith("write:"), f"{spec} did not fire: {code}\n{stderr}"
    entries = log_entries(log)
    by_model = {m: r for r, m in models(k).items()}
    persisted = Counter(by_model[m] for e in entries for m in e.get("calls", []))
    before = role_counts(llm, k, answered_only=True)
    total_before = role_counts(llm, k)
    searches_before = sum(1 for s in web.searches() if s.get("query") == f"tides {k}")

    started = time.monotonic()
    resumed = run_fusion("resume", thread_id, "--json", env=env)
    seconds = time.monotonic() - started
    assert resumed.returncode == 0, f"{spec}: {resumed.stderr}"
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok", (spec, result)
    assert sorted(r["text"] for r in result["responses"]) == [
        f"direct draft {k}",
        f"searched draft {k}",
    ]
    after = role_counts(llm, k)
    searches_after = sum(1 for s in web.searches() if s.get("query") == f"tides {k}")
    return Row(
        point=spec,
        killed=killed,
        persisted=persisted,
        first_life=before,
        second_life=after - total_before,
        searches=(searches_before, searches_after - searches_before),
        status=result["status"],
        seconds=seconds,
    )


def label(spec: str, entries: list[dict[str, Any]]) -> str:
    """What the kill point is, in words, from the uninterrupted run's write log."""
    kind, _, arg = spec.partition(":")
    if kind == "line":
        return f"right after `{arg}` is printed"
    entry = entries[int(arg) - 1]
    where = entry["ns"].split(":")[0] or "top"
    if entry["kind"] == "checkpoint":
        nexts = ", ".join(entry["next"]) or "end"
        return f"checkpoint {where} step {entry['step']} (next: {nexts})"
    return f"writes of a {where} task: {', '.join(entry['channels'])}"


@pytest.fixture
def base_env(llm_env: ScriptedLLMServer, web_env: ScriptedWebServer, tmp_path: Path) -> dict[str, str]:  # fmt: skip  # noqa: E501
    web_env.on_search(lambda query: [])
    env = dict(os.environ)
    env["HOME"] = str(tmp_path)
    return env


def test_a_kill_at_every_node_boundary_resumes_without_repaying_finished_calls(
    llm_env: ScriptedLLMServer, web_env: ScriptedWebServer, base_env: dict[str, str]
) -> None:
    script(llm_env, 0)
    dry_log = Path(base_env["HOME"]) / "writes-0.jsonl"
    thread_id, code, stderr = first_life("never", 0, dict(base_env), dry_log)
    assert code == 0, stderr
    writes = log_entries(dry_log)
    specs = ["line:thread:", "line:panelist_started", *(f"write:{n + 1}" for n in range(len(writes)))]
    for k in range(1, len(specs) + 1):
        script(llm_env, k)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        rows = list(
            pool.map(
                lambda item: run_point(item[1], item[0], llm_env, web_env, base_env),
                enumerate(specs, start=1),
            )
        )
    wall = time.monotonic() - started

    table = [
        "| kill point | calls saved / made before the kill | calls after resume | "
        "re-paid finished | re-paid in flight | searches before / after |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        table.append(
            f"| {label(row.point, writes)} | {sum(row.persisted.values())} / "
            f"{sum(row.first_life.values())} | {sum(row.second_life.values())} | "
            f"{row.repaid_finished()} | {row.repaid_in_flight()} | "
            f"{row.searches[0]} / {row.searches[1]} |"
        )
    print("\n".join(table))
    print(f"{len(rows)} kill points, {sum(r.killed for r in rows)} killed, {wall:.1f} s")

    assert all(row.killed for row in rows)
    assert [row.repaid_finished() for row in rows] == [0] * len(rows)
    for row in rows:  # a search whose result was saved is not made again either
        assert sum(row.searches) == 1, (row.point, row.searches)

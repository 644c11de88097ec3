"""Resume works from the first moment: the real `fusion ask` is SIGKILLed right after
`thread:` is printed, right after `panelist_started`, and right after every durable
checkpoint write of the run (every node boundary, in every namespace), then resumed
with `fusion resume`. A call whose result was on disk is never paid for again.

The matrix is printed (run with `-s`) in the form the README shows.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.llm_replies import ChatRequest, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.web_server import ScriptedWebServer

ROOT = Path(__file__).resolve().parents[1]
SEARCH = "searcher"  # one web_search round, then its draft: two calls
DIRECT = "direct"  # its draft at once: one call
JUDGE = "judge"  # one call: the analysis, then the answer, in one streamed verdict
CLEAN_CALLS = {SEARCH: 2, DIRECT: 1, JUDGE: 1}


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
    searches_saved: int
    status: str
    seconds: float

    def repaid_finished(self) -> int:
        """Calls made again although their result was on disk when the run died."""
        return sum(
            max(self.second_life[r] - (CLEAN_CALLS[r] - self.persisted[r]), 0) for r in CLEAN_CALLS
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


class Zygote:
    """A Python process with Fusion imported that forks one `fusion` command per call
    (see `tests.fixtures.kill_at`)."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.folder = folder
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fixtures.kill_at"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )

    def run(self, spec: str, log: Path, args: list[str], env: dict[str, str]) -> tuple[int, str, str]:  # fmt: skip  # noqa: E501
        out, err = self.folder / "out.txt", self.folder / "err.txt"
        request = {"spec": spec, "log": str(log), "args": args, "env": env}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request | {"out": str(out), "err": str(err)}) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self.proc.stdout.readline())["code"]
        return code, out.read_text(), err.read_text()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def first_life(
    zygote: Zygote, spec: str, k: int, env: dict[str, str], log: Path
) -> tuple[str, int, str]:
    code, _out, stderr = zygote.run(spec, log, ask_args(k), env)
    lines = [x for x in stderr.splitlines() if x.startswith("thread: ")]
    if lines:
        return lines[0].removeprefix("thread: "), code, stderr
    # killed between saving the run and printing its ID: `fusion runs` lists it
    listed, listed_out, listed_err = zygote.run("never", log.with_suffix(".runs"), ["runs", "--json"], env)  # fmt: skip  # noqa: E501
    assert listed == 0, f"{spec}: {listed_err}\n{stderr}"
    (run,) = json.loads(listed_out)
    assert run["status"] == "interrupted" and run["question"] == "Q?", run
    return run["thread_id"], code, stderr


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
    zygote: Zygote,
    spec: str,
    k: int,
    llm: ScriptedLLMServer,
    web: ScriptedWebServer,
    base: dict[str, str],
) -> Row:
    env = dict(base, FUSION_DB=str(Path(base["HOME"]) / f"runs-{k}.sqlite"))
    log = Path(base["HOME"]) / f"writes-{k}.jsonl"
    thread_id, code, stderr = first_life(zygote, spec, k, env, log)
    killed = code == -9
    assert killed or spec.startswith("write:"), f"{spec} did not fire: {code}\n{stderr}"
    entries = log_entries(log)
    by_model = {m: r for r, m in models(k).items()}
    persisted = Counter(by_model[m] for e in entries for m in e.get("calls", []))
    searches_saved = sum(1 for e in entries if is_search_result(e))
    before = role_counts(llm, k, answered_only=True)
    total_before = role_counts(llm, k)
    searches_before = sum(1 for s in web.searches() if s.get("query") == f"tides {k}")

    started = time.monotonic()
    code, stdout, stderr = zygote.run("never", log.with_suffix(".resume"), ["resume", thread_id, "--json"], env)  # fmt: skip  # noqa: E501
    seconds = time.monotonic() - started
    assert code == 0, f"{spec}: {stderr}"
    result = json.loads(stdout)
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
        searches_saved=searches_saved,
        status=result["status"],
        seconds=seconds,
    )


def is_search_result(entry: dict[str, Any]) -> bool:
    """The search tool node's writes: a task sent inside a panelist, writing messages."""
    return (
        entry["kind"] == "writes"
        and entry["ns"].startswith("panelist")
        and entry["node"].isdigit()
        and "messages" in entry["channels"]
        and "calls" not in entry["channels"]
    )


def label(spec: str, entries: list[dict[str, Any]]) -> str:
    """What the kill point is, in words, from the uninterrupted run's write log."""
    kind, _, arg = spec.partition(":")
    if kind == "line":
        return f"right after `{arg}` is printed"
    entry = entries[int(arg) - 1]
    where = entry["ns"].split(":")[0] or "top"
    if entry["kind"] == "checkpoint":
        return f"{where} checkpoint, step {entry['step']}"
    node = entry["node"]
    if node.isdigit():  # a task sent with `Send`: a panelist branch, or a tool call
        node = "panelist" if where == "top" else "search"
    return f"{where} node `{node}` done"


@pytest.fixture
def base_env(llm_env: ScriptedLLMServer, web_env: ScriptedWebServer, tmp_path: Path) -> dict[str, str]:  # fmt: skip  # noqa: E501
    web_env.on_search(lambda query: [])
    env = dict(os.environ)
    env["HOME"] = str(tmp_path)
    return env


WORKERS = 2


def test_a_kill_at_every_node_boundary_resumes_without_repaying_finished_calls(
    llm_env: ScriptedLLMServer, web_env: ScriptedWebServer, base_env: dict[str, str]
) -> None:
    home = Path(base_env["HOME"])
    zygotes: queue.Queue[Zygote] = queue.Queue()
    for n in range(WORKERS):
        (home / f"z{n}").mkdir()
        zygotes.put(Zygote(base_env, home / f"z{n}"))
    script(llm_env, 0)
    dry_log = home / "writes-0.jsonl"
    zygote = zygotes.get()
    env0 = dict(base_env, FUSION_DB=str(home / "runs-0.sqlite"))
    _thread, code, stderr = first_life(zygote, "never", 0, env0, dry_log)
    zygotes.put(zygote)
    assert code == 0, stderr
    writes = log_entries(dry_log)
    specs = [
        "line:thread:",
        "line:panelist_started",
        *(f"write:{n + 1}" for n in range(len(writes))),
    ]
    for k in range(1, len(specs) + 1):
        script(llm_env, k)

    def point(item: tuple[int, str]) -> Row:
        zygote = zygotes.get()
        try:
            return run_point(zygote, item[1], item[0], llm_env, web_env, base_env)
        finally:
            zygotes.put(zygote)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        rows = list(pool.map(point, enumerate(specs, start=1)))
    wall = time.monotonic() - started
    while not zygotes.empty():
        zygotes.get().close()

    table = [
        "| kill point | calls saved / answered before the kill | calls after resume | "
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
    resumes = sorted(row.seconds for row in rows)
    print(
        f"{len(rows)} kill points, {sum(r.killed for r in rows)} killed, "
        f"{sum(r.repaid_finished() for r in rows)} finished calls re-paid, "
        f"{sum(r.repaid_in_flight() for r in rows)} in-flight calls re-paid, "
        f"{sum(max(r.searches[0] - r.searches_saved, 0) for r in rows)} in-flight searches "
        "made again; "
        f"resume p50 {resumes[len(resumes) // 2]:.2f} s; matrix wall {wall:.1f} s"
    )

    assert all(row.killed for row in rows)
    assert [row.repaid_finished() for row in rows] == [0] * len(rows)
    for row in rows:  # a search whose result was saved is not made again either
        assert row.searches[1] == 1 - row.searches_saved, (row.point, row.searches)


def test_a_resumed_branch_reports_its_own_seconds_not_the_downtime(
    llm_env: ScriptedLLMServer, web_env: ScriptedWebServer, base_env: dict[str, str]
) -> None:
    home = Path(base_env["HOME"])
    zygote = Zygote(base_env, home)
    script(llm_env, 0)
    env = dict(base_env, FUSION_DB=str(home / "runs.sqlite"))
    started = time.monotonic()
    # killed after the search round, before the searcher's second call
    thread_id, code, stderr = first_life(zygote, "line:tool_result", 0, env, home / "w.jsonl")
    first_wall = time.monotonic() - started
    assert code == -9, stderr
    downtime = 2.0
    time.sleep(downtime)
    started = time.monotonic()
    code, stdout, stderr = zygote.run("never", home / "r.jsonl", ["resume", thread_id, "--json"], env)  # fmt: skip  # noqa: E501
    second_wall = time.monotonic() - started
    zygote.close()
    assert code == 0, stderr

    result = json.loads(stdout)
    searcher = next(r for r in result["responses"] if r["model"] == models(0)[SEARCH])
    assert searcher["text"] == "searched draft 0"
    # its two calls, one per life, and nothing of the two seconds it was down
    assert 0 < searcher["seconds"] <= first_wall + second_wall
    assert searcher["seconds"] < downtime or first_wall + second_wall >= downtime

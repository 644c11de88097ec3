"""4. Concurrency: 20 and 100 fused runs at once in one process (`fusion.fuse`, default
SQLite checkpointer, one database), and 20 at once through `langgraph dev`.

For each: total wall / one run's wall (the median single run, same path), per-run p50
and p95 (over the timed batches, as ratios to the critical path), and peak memory per
run: the growth of the resident set (RSS, sampled every 10 ms) during the first batch,
divided by the runs. Each in-process size runs in a fresh interpreter
(`python -m bench.concurrency N`), after one warm-up run, so its first batch starts
from a clean heap; for the server, the server process's RSS growth during its first
batch. That first batch is the warm-up: the timed batches follow it. The scripted
servers run in a child process, so they take no GIL time from the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from bench.harness import (
    PROMPT,
    Latencies,
    Options,
    PeakRSS,
    Section,
    fused,
    median,
    mib,
    ms,
    percentile,
    ratio,
    repo_root,
    run_async,
    servers,
)

TITLE = "4. Concurrency: total wall / one run's wall; per-run p50/p95 / critical path"


async def _batch(n: int, one: Any) -> tuple[float, list[float], list[str]]:
    """`n` runs at once: total wall, the walls of the runs that succeeded, and the
    errors of those that failed (reported, not raised: a failure is a finding)."""
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    total = time.perf_counter() - started
    walls = [o for o in outcomes if isinstance(o, float)]
    errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    return total, walls, errors


Result = tuple[list[float], list[float], float, list[str]]


async def _sized(options: Options, n: int, one: Any, memory: Any) -> Result:
    """Warm-up batch (measuring memory), then timed batches: totals, per-run walls,
    memory per run, errors."""
    with memory() as probe:
        _, _, errors = await _batch(n, one)
    totals: list[float] = []
    walls: list[float] = []
    for _ in range(max(options.runs, 1)):
        total, each, failed = await _batch(n, one)
        totals.append(total)
        walls += each
        errors += failed
    return totals, walls, probe.growth / n, errors


def _report(
    section: Section,
    label: str,
    single: float,
    critical: float,
    result: Result,
    target: str = "",
) -> None:
    totals, walls, memory, errors = result
    total = median(totals)
    note = f"{mib(memory)} per run"
    if walls:
        p50, p95 = percentile(walls, 50) / critical, percentile(walls, 95) / critical
        note = f"p50 {p50:.2f}, p95 {p95:.2f}; {note}"
    else:
        p50 = p95 = float("nan")
    if errors:  # the warm-up batch counts too
        note += f"; FAILED {len(errors)} runs: {errors[0][:90]}"
    section.add(label, ratio(total / single), target, note)
    section.data[label] = {
        "total_over_one": total / single,
        "p50": p50,
        "p95": p95,
        "memory_per_run_bytes": memory,
        "totals": totals,
        "errors": errors[:5],
        "failed": len(errors),
    }


async def _in_process(options: Options, section: Section, lat: Latencies) -> None:
    panel, judge = lat.panel_models(), lat.judge_model()
    for _ in range(options.warmup):
        await fused(panel, judge, web=False)
    single = median([await fused(panel, judge, web=False) for _ in range(max(options.runs, 1))])
    section.add("one run, in process: wall / critical path", ratio(single / lat.critical_path()))
    for n in options.sizes:
        result = await asyncio.to_thread(_sized_in_child, options, n)
        target = "<= 1.5" if n == 20 else ""
        _report(section, f"{n} at once, in process", single, lat.critical_path(), result, target)


def _sized_in_child(options: Options, n: int) -> Result:
    """`n` runs at once in a fresh interpreter (this process's environment points it
    at the scripted servers)."""
    command = [
        sys.executable,
        "-m",
        "bench.concurrency",
        str(n),
        f"--runs={options.runs}",
        f"--scale={options.scale}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=repo_root(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.concurrency {n} failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data["totals"], data["walls"], data["memory"], data["errors"]


async def _child(n: int, options: Options) -> Result:
    lat = Latencies(options.scale)
    panel, judge = lat.panel_models(), lat.judge_model()

    def one() -> Any:
        return fused(panel, judge, web=False)

    await one()  # imports, connection pool: not part of any batch
    return await _sized(options, n, one, PeakRSS)


def child_main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency")
    parser.add_argument("n", type=int)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    options = Options(runs=args.runs, scale=args.scale)
    totals, walls, memory, errors = asyncio.run(_child(args.n, options))
    print(json.dumps({"totals": totals, "walls": walls, "memory": memory, "errors": errors}))


async def _through_server(options: Options, section: Section, lat: Latencies, env: Any) -> None:
    from langgraph_sdk import get_client

    from bench.langgraph_dev import start_dev_server

    n = options.server_runs
    server = start_dev_server(env, env_home(env) / "langgraph-dev", n_jobs_per_worker=max(n, 10))
    try:
        client = get_client(url=server.url)
        context: dict[str, Any] = {
            "panel": lat.panel_models(),
            "judge": lat.judge_model(),
            "web": False,
        }

        async def one(graph: str = "fusion") -> float:
            started = time.perf_counter()
            thread = await client.threads.create()
            state = await client.runs.wait(
                thread["thread_id"], graph, input={"prompt": PROMPT}, context=context
            )
            seconds = time.perf_counter() - started
            if not isinstance(state, dict) or state.get("status") != "ok":
                raise RuntimeError(f"server run did not end ok: {str(state)[:500]}")
            return seconds

        for _ in range(options.warmup):
            await one()
            await one("noop")
        runs = max(options.runs, 1)
        single = median([await one() for _ in range(runs)])
        noop = median([await one("noop") for _ in range(runs)])
        critical = lat.critical_path()
        section.add("one run, langgraph dev: wall / critical path", ratio(single / critical))
        section.add(
            "  the server's own floor: a one-node graph",
            ms(noop),
            "",
            "its queue polls every 0.5 s when idle",
        )
        section.data["server_noop_s"] = noop
        result = await _sized(options, n, one, lambda: PeakRSS(server.proc.pid))
        _report(section, f"{n} at once, langgraph dev", single, critical, result)
    finally:
        server.stop()


def env_home(env: dict[str, str]) -> Any:
    from pathlib import Path

    return Path(env["FUSION_DB"]).parent


def run(options: Options) -> Section:
    section = Section(TITLE)
    lat = Latencies(options.scale)
    with servers(lat, child=True) as running:
        run_async(_in_process(options, section, lat))
        if options.server_runs > 0:
            run_async(_through_server(options, section, lat, running.env))
    section.notes.append(
        f"one run: median of {options.runs} single runs after {options.warmup} warm-up; "
        f"each size: a warm-up batch (memory), then {options.runs} timed batches"
    )
    section.notes.append(
        "memory per run: RSS growth during the first batch / runs (in process: in a fresh "
        "interpreter; langgraph dev: the server process)"
    )
    return section


if __name__ == "__main__":
    child_main()

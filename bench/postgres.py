"""9. PostgreSQL: what a run's checkpoints cost on PostgreSQL against SQLite, and N
runs at once through `fusion serve`, on one replica and spread over two sharing one
PostgreSQL database.

Checkpoint cost is database time: the time a run spends inside the checkpointer's
calls (`aput`, `aput_writes`, `aget_tuple`), summed over the run (concurrent calls
count each), the no-tools run of bench 2 on a saver of each kind, interleaved. The
run's lease (take and release, `fusion.lease`) is timed apart.

Replicas: PostgreSQL from the machine's binaries (as the tests start it), the scripted
servers in a child process, two `fusion serve` processes; N = the largest `--sizes`
(100 by default) OpenAI requests at once, all to one replica, or alternating between
two; each as total wall / one request's wall, and per-request p50 and p95 against the
critical path.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    PROMPT,
    Latencies,
    Options,
    Section,
    fused,
    interleaved,
    measured_section,
    median,
    ms,
    percentile,
    ratio,
    servers,
)
from tests.fixtures.postgres import PostgresServer, running_postgres
from tests.fixtures.serve import SERVER_KEY, free_port, launch_server, stop_server

TITLE = "9. PostgreSQL: checkpoint cost against SQLite; runs over two serve replicas"
METERED = ("aput", "aput_writes", "aget_tuple")
LEASES = 20


class Meter:
    """Time spent in a saver's calls, patched onto the instance (its class unchanged)."""

    def __init__(self, saver: Any) -> None:
        self.saver, self.seconds, self.writes = saver, 0.0, 0
        for name in METERED:
            setattr(saver, name, self._timed(getattr(saver, name), name))

    def _timed(self, call: Callable[..., Awaitable[Any]], name: str) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.writes += name != "aget_tuple"

        return timed


async def _checkpoint_cost(
    options: Options, section: Section, lat: Latencies, pg: PostgresServer, home: Path
) -> None:
    from fusion.lease import take_lease
    from fusion.saver import open_checkpointer

    panel, judge = lat.panel_models(), lat.judge_model()
    runs = options.warmup + max(options.runs, 1)
    async with (
        open_checkpointer(home / "cost.sqlite") as lite,
        open_checkpointer(pg.create_database()) as post,
    ):
        meters = {"sqlite": Meter(lite), "postgres": Meter(post)}
        cases: dict[str, Callable[[], Awaitable[float]]] = {
            name: functools.partial(fused, panel, judge, web=False, checkpointer=meter.saver)
            for name, meter in meters.items()
        }
        times = await interleaved(options, cases)
        lease_s = {}
        for name, meter in meters.items():
            started = time.perf_counter()
            for n in range(LEASES):
                lease = await take_lease(meter.saver, f"bench-lease-{n}", "bench")
                assert lease is not None
                await lease.release()
            lease_s[name] = (time.perf_counter() - started) / LEASES
    db = {name: meter.seconds / runs for name, meter in meters.items()}
    writes = meters["postgres"].writes / runs
    section.add(
        "database time a run: PostgreSQL / SQLite",
        ratio(db["postgres"] / db["sqlite"]),
        "",
        f"{ms(db['postgres'])} vs {ms(db['sqlite'])}; {writes:.0f} checkpoint writes a run",
    )
    section.add(
        "run wall: PostgreSQL / SQLite",
        ratio(median(times["postgres"]) / median(times["sqlite"])),
        "",
        f"critical path {ms(lat.critical_path())}",
    )
    section.add(
        "lease (take + release): PostgreSQL / SQLite",
        ratio(lease_s["postgres"] / lease_s["sqlite"]),
        "",
        f"{lease_s['postgres'] * 1000:.1f} ms vs {lease_s['sqlite'] * 1000:.1f} ms a run",
    )
    section.data |= {"db_s": db, "writes": writes, "lease_s": lease_s, "times": times}


async def _request(client: httpx.AsyncClient, origin: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    reply = await client.post(f"{origin}/v1/chat/completions", json=body)
    reply.raise_for_status()
    status = reply.json()["fusion"]["status"]
    if status != "ok":
        raise RuntimeError(f"run ended {status}")
    return time.perf_counter() - started


async def _replicas(options: Options, section: Section, lat: Latencies, origins: list[str]) -> None:
    n = max(options.sizes)
    fusion = {"panel": lat.panel_models(), "judge": lat.judge_model(), "web": False}
    body = {"model": "fusion", "messages": [{"role": "user", "content": PROMPT}], "fusion": fusion}
    # no kept-alive connections: uvicorn closes idle ones, and a request that reuses one
    # just as it closes fails (ReadError) for no fault of the server under test
    limits = httpx.Limits(max_connections=2 * n + 10, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    async with httpx.AsyncClient(timeout=600, limits=limits, headers=headers) as client:

        async def batch(spread: int) -> tuple[float, list[float], list[str]]:
            started = time.perf_counter()
            calls = [_request(client, origins[i % spread], body) for i in range(n)]
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            walls = [o for o in outcomes if isinstance(o, float)]
            errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
            return time.perf_counter() - started, walls, errors

        singles = [await _request(client, origins[i % 2], body) for i in range(options.runs + 1)]
        one_run = median(singles[1:])
        totals: dict[int, list[float]] = {1: [], 2: []}
        walls: dict[int, list[float]] = {1: [], 2: []}
        errors: list[str] = []
        for round_ in range(options.warmup + max(options.runs, 1)):
            for spread in (1, 2):
                total, done, failed = await batch(spread)
                errors += failed
                if round_ >= options.warmup:
                    totals[spread].append(total)
                    walls[spread] += done
    critical = lat.critical_path()
    for spread, label in ((1, "on one replica"), (2, "over two replicas")):
        p50, p95 = percentile(walls[spread], 50), percentile(walls[spread], 95)
        section.add(
            f"{n} runs at once {label}: total / one run",
            ratio(median(totals[spread]) / one_run),
            "",
            f"per run p50 {p50 / critical:.2f}, p95 {p95 / critical:.2f} of the critical path",
        )
    section.add(
        f"{n} runs: one replica / two replicas (total wall)",
        ratio(median(totals[1]) / median(totals[2])),
        "",
        f"{len(errors)} failed" + (f": {errors[0]}" if errors else ""),
    )
    section.data |= {"replica_totals": totals, "one_run": one_run, "errors": errors}


async def _measure(options: Options, section: Section) -> None:
    lat = Latencies(options.scale)
    with running_postgres("fusion-bench-pg-") as pg, servers(lat, child=True) as started:
        await _checkpoint_cost(options, section, lat, pg, started.home)
        env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
        env |= started.env | {"FUSION_DB": pg.create_database()}
        env |= {"FUSION_SERVER_API_KEY": SERVER_KEY, "HOME": str(started.home)}
        procs = []
        try:
            for name in ("one", "two"):
                port = free_port()
                procs.append((launch_server(env, port, started.home / f"{name}.log"), port))
            origins = [f"http://127.0.0.1:{port}" for _, port in procs]
            await _replicas(options, section, lat, origins)
        finally:
            for proc, _ in procs:
                stop_server(proc)


def run(options: Options) -> Section:
    return measured_section(TITLE, _measure, options)

"""CPU and memory per answer: `fusion serve` beside a minimal stateless peer.

Each server runs in its own process, answers the same OpenAI client, and calls the
same scripted models (in another process). A server's CPU per answer is the user +
system time its process tree spent over a batch of sequential answers, divided by
the answers; its memory is its peak resident set (VmHWM). The peer (`bench.peer`)
fans out, calls one judge and keeps nothing; Fusion checkpoints every step in SQLite,
so that each paid call survives a crash. Between the two, the graph floor
(`bench.graph_floor`) makes the peer's calls from a minimal LangGraph graph of Fusion's
shape, checkpointed by Fusion's SQLite saver, and once more without checkpoints: what
any graph of that shape pays per answer, so Fusion's CPU splits into LangGraph's, its
checkpoints' and its own above them (fusion / floor). Fusion's own growth is measured
too: from 3 to 8 panelists, and from 0 to 2 tool rounds (a search round and a fetch
round).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench.harness import (
    PROMPT,
    Latencies,
    Options,
    Section,
    median,
    mib,
    ms,
    process_tree,
    ratio,
    repo_root,
    run_async,
    servers,
)
from bench.scripted import model_id
from tests.fixtures.serve import stop_server

TITLE = "7. CPU per answer: fusion serve against a stateless peer"
KEY = "bench-server-key"
START_TIMEOUT_S = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    base_url: str


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its live descendants, all threads included."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def peak_rss(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def started(name: str, module_args: list[str], env: dict[str, str]) -> Iterator[Server]:
    port = _free_port()
    command = [sys.executable, "-m", *module_args, "--port", str(port)]
    proc = subprocess.Popen(
        command,
        env=os.environ | env,
        cwd=repo_root(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(name, proc, f"http://127.0.0.1:{port}/v1")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                headers = {"Authorization": f"Bearer {KEY}"}
                if httpx.get(f"{server.base_url}/models", headers=headers).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.1)
        yield server
    finally:
        stop_server(proc)


async def answers(server: Server, n: int, panel: list[str], judge: str, web: bool) -> float:
    """`n` sequential answers after one warm-up; the median wall time of one answer.
    CPU is read around the timed answers only."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=120)
    body: dict[str, Any] = {"fusion": {"panel": panel, "judge": judge, "web": web}}

    async def one() -> float:
        began = time.perf_counter()
        reply = await client.chat.completions.create(
            model="fusion",
            messages=[{"role": "user", "content": PROMPT}],
            extra_body=body,
        )
        if not reply.choices[0].message.content:
            raise RuntimeError(f"{server.name} gave an empty answer")
        return time.perf_counter() - began

    await one()
    walls = [await one() for _ in range(n)]
    await client.close()
    return median(walls)


async def per_answer(
    server: Server, n: int, panel: list[str], judge: str, web: bool = False
) -> tuple[float, float]:
    """(CPU seconds per answer, median wall seconds) over `n` answers, after a warm-up."""
    await answers(server, 1, panel, judge, web)  # imports, pools, first compile
    return await measured(server, n, panel, judge, web)


async def measured(
    server: Server, n: int, panel: list[str], judge: str, web: bool = False
) -> tuple[float, float]:
    """(CPU seconds per answer, median wall seconds) over `n` answers and the one
    `answers` runs first; the server should be warm."""
    before = cpu_seconds(server.proc.pid)
    wall = await answers(server, n, panel, judge, web)
    return (cpu_seconds(server.proc.pid) - before) / (n + 1), wall


def panel_of(size: int, lat: Latencies, kind: str = "draft") -> list[str]:
    """`size` panelists with the bench's latencies, repeated with suffixes."""
    base = lat.panel
    return [model_id(kind, base[i % len(base)], f"p{i}") for i in range(size)]


async def _measure(options: Options, section: Section, lat: Latencies, env: dict[str, str]) -> None:
    n = max(options.runs, 1) * 2
    judge = lat.judge_model()
    three = panel_of(3, lat)
    served = env | {"FUSION_SERVER_API_KEY": KEY}
    with started("peer", ["bench.peer"], served) as peer:
        peer_cpu, peer_wall = await per_answer(peer, n, three, judge)
        peer_peak = peak_rss(peer.proc.pid)
    with started("graph floor", ["bench.graph_floor"], served) as floor:
        floor_cpu, _ = await per_answer(floor, n, three, judge)
    with started("bare graph", ["bench.graph_floor", "--no-checkpoints"], served) as bare:
        bare_cpu, _ = await per_answer(bare, n, three, judge)
    fusion_args = ["fusion.cli.main", "serve", "--log-level", "warning"]
    with started("fusion serve", fusion_args, served) as fusion:
        cpu3, wall3 = await per_answer(fusion, n, three, judge)
        fusion_peak = peak_rss(fusion.proc.pid)
        cpu8, _ = await per_answer(fusion, n, panel_of(8, lat), judge)
        tools3, _ = await per_answer(fusion, n, panel_of(3, lat, "research"), judge, web=True)
    critical = lat.critical_path()
    section.add("CPU per answer, fusion serve (3 panelists)", ms(cpu3))
    section.add("CPU per answer, stateless peer (3 panelists)", ms(peer_cpu))
    section.add("  fusion / peer CPU", ratio(cpu3 / peer_cpu), "<= 2.0")
    section.add("CPU per answer, bare graph (no checkpoints)", ms(bare_cpu), "", "LangGraph alone")
    section.add("  bare graph / peer CPU", ratio(bare_cpu / peer_cpu))
    section.add("CPU per answer, graph floor (checkpoints)", ms(floor_cpu), "", "+ SQLite, sync")
    section.add("  graph floor / peer CPU", ratio(floor_cpu / peer_cpu))
    section.add("  fusion / graph floor CPU", ratio(cpu3 / floor_cpu))
    section.add("peak memory, fusion serve", mib(fusion_peak), "", "after the 3-panelist batch")
    section.add("peak memory, stateless peer", mib(peer_peak))
    section.add("  fusion / peer memory", ratio(fusion_peak / peer_peak))
    section.add("answer wall / critical path, fusion", ratio(wall3 / critical))
    section.add("answer wall / critical path, peer", ratio(peer_wall / critical))
    section.add("CPU per answer, fusion, 8 panelists", ms(cpu8))
    section.add("  8 / 3 panelists", ratio(cpu8 / cpu3), f"<= {8 / 3:.3f}", "linear growth")
    section.add("CPU per answer, fusion, 3 panelists, 2 tool rounds", ms(tools3))
    section.add("  2 tool rounds / none", ratio(tools3 / cpu3))
    section.data |= {
        "cpu_fusion_s": cpu3,
        "cpu_peer_s": peer_cpu,
        "cpu_ratio": cpu3 / peer_cpu,
        "cpu_bare_graph_s": bare_cpu,
        "cpu_graph_floor_s": floor_cpu,
        "cpu_floor_over_peer": floor_cpu / peer_cpu,
        "cpu_fusion_over_floor": cpu3 / floor_cpu,
        "cpu_fusion_8_s": cpu8,
        "cpu_growth_8_over_3": cpu8 / cpu3,
        "cpu_fusion_tools_s": tools3,
        "peak_rss_fusion": fusion_peak,
        "peak_rss_peer": peer_peak,
        "wall_fusion_s": wall3,
        "wall_peer_s": peer_wall,
    }


def run(options: Options) -> Section:
    section = Section(TITLE)
    lat = Latencies(options.scale)
    with servers(lat, child=True) as running:
        run_async(_measure(options, section, lat, running.env))
    section.notes.append(
        f"CPU: process-tree user+system time over {max(options.runs, 1) * 2 + 1} sequential "
        "answers after a warm-up, per answer; fusion serve checkpoints in SQLite"
    )
    return section

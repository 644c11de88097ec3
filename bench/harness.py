"""What every bench shares: options, scripted servers, timing, statistics and the table.

Latencies are the issue's, times `--scale`: panelists at 0.5 / 0.8 / 1.0 s and a judge
at 0.3 s. The judge writes its analysis, then the answer, in one streamed call, scripted
at 0.3 s before its first byte, so the critical path of a run without tools is the
slowest panelist plus one judge call: 1.0 + 0.3 = 1.3 s. With tools each
panelist makes one search and one fetch round (three model calls sharing its latency,
a 0.1 s search and a 0.1 s page): 1.0 + 0.1 + 0.1 + 0.3 = 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scripted import model_id, script

PROMPT = "What does a deliberation engine add over one model?"


@dataclass(frozen=True)
class Options:
    runs: int = 5  # timed runs per measurement, after `warmup`
    warmup: int = 1
    scale: float = 1.0  # every scripted latency (and the deadline) times this
    sizes: tuple[int, ...] = (20, 100)  # in-process concurrency
    server_runs: int = 20  # concurrent runs through `langgraph dev`


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every scripted latency (default 1)"
    )
    parser.add_argument(
        "--sizes", default="20,100", help="concurrent in-process runs (default 20,100)"
    )
    parser.add_argument(
        "--server-runs", type=int, default=20, help="concurrent runs via langgraph dev (20)"
    )


def options_from(args: argparse.Namespace) -> Options:
    sizes = tuple(int(s) for s in str(args.sizes).split(",") if s.strip())
    return Options(args.runs, args.warmup, args.scale, sizes, args.server_runs)


@dataclass(frozen=True)
class Latencies:
    """The scripted latencies, scaled."""

    scale: float = 1.0

    @property
    def panel(self) -> tuple[float, ...]:
        return tuple(s * self.scale for s in (0.5, 0.8, 1.0))

    @property
    def judge(self) -> float:  # one judge call
        return 0.3 * self.scale

    @property
    def search(self) -> float:
        return 0.1 * self.scale

    @property
    def fetch(self) -> float:
        return 0.1 * self.scale

    def critical_path(self, tools: bool = False) -> float:
        tool_time = self.search + self.fetch if tools else 0.0
        return max(self.panel) + tool_time + self.judge

    def panel_models(self, tools: bool = False) -> list[str]:
        kind = "research" if tools else "draft"
        return [model_id(kind, s) for s in self.panel]

    def judge_model(self) -> str:
        return model_id("judge", self.judge)


# -- servers ---------------------------------------------------------------------------


@dataclass
class Servers:
    """The scripted LLM and web servers, and the environment that points Fusion at them."""

    llm_base_url: str
    web_origin: str
    home: Path
    llm: Any = None  # the ScriptedLLMServer when in this process (its request log)
    _stop: Callable[[], None] = lambda: None

    @property
    def env(self) -> dict[str, str]:
        config = self.home / "config.toml"
        if not config.exists():
            config.write_text("")  # hermetic: no user presets, providers or prices
        return {
            "FUSION_BASE_URL": self.llm_base_url,
            "FUSION_API_KEY": "bench-key",
            "TAVILY_BASE_URL": self.web_origin,
            "TAVILY_API_KEY": "tvly-bench",
            "FUSION_FETCH_ALLOW_PRIVATE": "1",
            "FUSION_CONFIG": str(config),
            "FUSION_DB": str(self.home / "runs.sqlite"),
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
        }

    def stop(self) -> None:
        self._stop()


@contextlib.contextmanager
def servers(
    latencies: Latencies, child: bool = False, chunk_delay: float = 0.0
) -> Iterator[Servers]:
    """Start the scripted servers (in a child process with `child`) and point this
    process's environment at them for the duration. `chunk_delay`: seconds between a
    streamed reply's chunks."""
    home = Path(tempfile.mkdtemp(prefix="fusion-bench-"))
    if child:
        started = _child_servers(latencies, home, chunk_delay)
    else:
        started = _local_servers(latencies, home)
        started.llm.chunk_delay = chunk_delay
    saved = {k: os.environ.get(k) for k in [*started.env, "OPENROUTER_API_KEY"]}
    os.environ.pop("OPENROUTER_API_KEY", None)
    os.environ.update(started.env)
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(home, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _local_servers(latencies: Latencies, home: Path) -> Servers:
    from tests.fixtures.llm_server import ScriptedLLMServer
    from tests.fixtures.web_server import ScriptedWebServer

    llm, web = ScriptedLLMServer(), ScriptedWebServer()
    script(llm, web, latencies.search, latencies.fetch)

    def stop() -> None:
        llm.stop()
        web.stop()

    return Servers(llm.base_url, web.origin, home, llm, stop)


def _child_servers(latencies: Latencies, home: Path, chunk_delay: float = 0.0) -> Servers:
    command = [
        sys.executable,
        "-m",
        "bench.servers",
        f"--search-s={latencies.search}",
        f"--fetch-s={latencies.fetch}",
        f"--chunk-delay={chunk_delay}",
    ]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=repo_root(), text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("bench.servers did not start")
    urls = json.loads(line)

    def stop() -> None:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Servers(urls["llm"], urls["web"], home, None, stop)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# -- runs and timing -------------------------------------------------------------------


_OFF_STATUS: list[str] = []
"""Runs of the current section that ended with another status than expected."""


async def fused(panel: list[str], judge: str, *, expect: str = "ok", **options: Any) -> float:
    """One `fusion.fuse` run; its wall time in seconds. A run that ends with another
    status than `expect` is a finding, not a crash: on a loaded machine (or at a tiny
    scale) a deadline can cut a panelist that would have made it, so the section
    notes it and goes on."""
    import fusion

    started = time.perf_counter()
    result = await fusion.fuse(PROMPT, panel=panel, judge=judge, **options)
    seconds = time.perf_counter() - started
    if result.status != expect:
        _OFF_STATUS.append(f"{result.status} ({result.failure_reason}), not {expect}")
    return seconds


async def interleaved(
    options: Options, cases: dict[str, Callable[[], Awaitable[float]]]
) -> dict[str, list[float]]:
    """Warm each case up, then time `options.runs` rounds, one run of each case per
    round (so drift on the machine spreads over every case alike)."""
    for _ in range(options.warmup):
        for case in cases.values():
            await case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(max(options.runs, 1)):
        for name, case in cases.items():
            times[name].append(await case())
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    queue.extend(int(c) for c in f.read().split())
    return found


class PeakRSS:
    """Samples the RSS of a process tree every 10 ms; `peak` is the highest seen."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _total(self) -> int:
        total = 0
        for pid in process_tree(self.pid):
            with contextlib.suppress(OSError):
                total += rss_bytes(pid)
        return total

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._total())
            self._done.wait(0.01)

    def __enter__(self) -> PeakRSS:
        self.start = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._total())

    @property
    def growth(self) -> int:
        return max(self.peak - self.start, 0)


def run_async(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def measured_section(
    title: str,
    measure: Callable[[Options, Section], Awaitable[None]],
    options: Options,
    *,
    scale: float | None = None,
) -> Section:
    """A section filled by `measure` in its own event loop, with the usual note on how
    its figures were taken (`scale`: the latency factor it really used)."""
    section = Section(title)
    _OFF_STATUS.clear()
    run_async(measure(options, section))
    if _OFF_STATUS:
        section.notes.append(
            f"{len(_OFF_STATUS)} run(s) ended {_OFF_STATUS[0]}: the machine was too loaded "
            "for these latencies, so the ratio is pessimistic"
        )
        section.data["off_status"] = list(_OFF_STATUS)
    section.notes.append(
        f"median of {options.runs} runs after {options.warmup} warm-up; "
        f"latencies x{options.scale if scale is None else scale}"
    )
    return section


# -- results ---------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    value: str
    target: str = ""
    note: str = ""


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw figures, for --json

    def add(self, metric: str, value: str, target: str = "", note: str = "") -> None:
        self.rows.append(Row(metric, value, target, note))


def ratio(value: float) -> str:
    return f"{value:.3f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"


def print_section(section: Section) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=section.title, title_justify="left", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("note")
    for row in section.rows:
        table.add_row(row.metric, row.value, row.target, row.note)
    console = Console(width=max(Console().width, 120), highlight=False)
    console.print(table)
    for note in section.notes:
        console.print(f"  {note}", soft_wrap=True)
    console.print()

"""Where a served answer's CPU goes: `fusion serve` sampled by py-spy.

`python -m bench profile` (not in the default set: it needs py-spy, in the dev extra,
and the right to attach to a process) starts `fusion serve` on the scripted servers,
warms it up, attaches `py-spy record --gil` and drives sequential answers at 3 and 8
panelists, without tools and with a search round and a fetch round. Each sample (a stack
of the thread holding the GIL) goes to the first bucket below that one of its frames
falls in, so the shares add up to 100 %: CPU the interpreter spent, by what it was
doing. The raw profiles stay in a temporary directory, named in the section's notes,
for `speedscope` or a closer look.
"""

from __future__ import annotations

import collections
import contextlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from bench.cpu import KEY, answers, measured, panel_of, started
from bench.harness import Latencies, Options, Section, ms, run_async, servers

TITLE = "10. Where a served answer's CPU goes (py-spy, fusion serve)"
SAMPLE_RATE = 250  # per second: enough for a few thousand samples a configuration

BUCKETS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("checkpoint writes", r"sqlite_saver|sqlite/__init__"),
        (
            "model calls",
            r"language_models/|core/providers\.py|openai/|langchain_openai|judge_stream\.py",
        ),
        ("web tools", r"tools/(fetch|search|download|extract|prefetch|netguard)|tavily|tool_node"),
        ("LangGraph steps", r"pregel/|graph/state\.py|_internal/_|graph/_branch|channels/"),
        ("HTTP server", r"fastapi/|starlette/|uvicorn/protocols"),
        # what is left of a worker thread: picking up and handing back its work
        ("thread hand-offs", r"concurrent/futures|threading\.py"),
    )
)
OTHER = "other (event loop, GC, JSON)"
CONFIGS = ((3, False), (8, False), (3, True), (8, True))


def shares(collapsed: Iterable[str]) -> dict[str, float]:
    """Each bucket's share of the samples in py-spy's raw (collapsed) output: lines
    of `frame;frame;... count`, outermost frame first."""
    counts: collections.Counter[str] = collections.Counter()
    for line in collapsed:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        bucket = next((name for name, pattern in BUCKETS if pattern.search(stack)), OTHER)
        counts[bucket] += int(count)
    total = sum(counts.values())
    names = (*(name for name, _ in BUCKETS), OTHER)
    return {name: counts[name] / total for name in names} if total else {}


def _py_spy() -> str:
    """py-spy on PATH, else beside this Python (a venv used without activating it)."""
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError('bench profile needs py-spy: pip install -e ".[dev]"')
    return found


@contextlib.contextmanager
def sampled(pid: int, out: Path) -> Iterator[None]:
    """py-spy samples process `pid` into `out` for the duration."""
    command = [_py_spy(), "record", "--gil", "--nonblocking", "-f", "raw"]
    command += ["-r", str(SAMPLE_RATE), "-o", str(out), "-p", str(pid)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        _, err = spy.communicate(timeout=60)
    if spy.returncode not in (0, -signal.SIGINT) or not out.exists():
        raise RuntimeError(
            f"py-spy could not sample pid {pid} (run as root, or allow ptrace: "
            f"sysctl kernel.yama.ptrace_scope=0): {err.decode(errors='replace')[-400:]}"
        )


def run(options: Options) -> Section:
    section = Section(TITLE)
    lat = Latencies(options.scale)
    n = max(options.runs, 1) * 4
    keep = Path(tempfile.mkdtemp(prefix="fusion-profile-"))
    with servers(lat, child=True) as running:
        env = running.env | {"FUSION_SERVER_API_KEY": KEY}
        args = ["fusion.cli.main", "serve", "--log-level", "warning"]
        judge = lat.judge_model()
        with started("fusion serve", args, env) as server:
            for size, web in CONFIGS:
                panel = panel_of(size, lat, "research" if web else "draft")
                run_async(answers(server, 1, panel, judge, web))  # warm: imports, pools
                out = keep / f"panel{size}-{'tools' if web else 'notools'}.txt"
                with sampled(server.proc.pid, out):
                    cpu, _ = run_async(measured(server, n, panel, judge, web))
                split = shares(out.read_text().splitlines())
                label = f"{size} panelists, {'a search and a fetch round' if web else 'no tools'}"
                section.add(f"{label}: CPU per answer (sampled)", ms(cpu))
                for name, share in split.items():
                    section.add(f"  {name}", f"{share:.3f}", "", "share of samples")
                section.data[label] = {"cpu_s": cpu, "shares": split, "profile": str(out)}
    section.notes.append(
        f"py-spy --gil at {SAMPLE_RATE} Hz over {n + 1} sequential answers a row (a warm-up "
        f"first); a sample counts in the first bucket any of its frames falls in; raw "
        f"profiles: {keep}"
    )
    return section

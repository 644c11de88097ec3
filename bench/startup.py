"""6. CLI start-up: `fusion --help` wall time and the import time of `fusion`,
`fusion.api` and `fusion.graph.builder` (what a run loads), each in a fresh
interpreter (median of `--runs` after a warm-up), as ratios to a bare `python -c pass`;
from `python -X importtime`, the packages that dominate a run's imports; and, in a
real pseudo-terminal, the time from Enter to the first line `fusion ask` puts on
screen, to its live view (the `thread:` line, after the heavy imports), and to the
refusal of bad input (an unknown preset; a missing API key)."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.harness import Options, Section, median, ms, ratio, repo_root

TITLE = "6. CLI start-up and import time (fresh interpreter each)"

# The console script installed beside this interpreter, first: an unactivated venv (as
# in CI) has it there but not on PATH, and a `fusion` found first on PATH may belong to
# another interpreter (a pyenv shim here ran one without the package).
_BESIDE = Path(sys.executable).with_name("fusion")
FUSION = str(_BESIDE) if _BESIDE.is_file() else shutil.which("fusion") or str(_BESIDE)

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "fusion --help": [FUSION, "--help"],
    "import fusion": [sys.executable, "-c", "import fusion"],
    "import fusion.api": [sys.executable, "-c", "import fusion.api"],
    "import fusion.graph.builder": [sys.executable, "-c", "import fusion.graph.builder"],
}


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=repo_root())
    return time.perf_counter() - started


def heaviest_imports(module: str, top: int = 6) -> tuple[float, list[tuple[str, float]]]:
    """Total import time of `module` and the top-level packages that take most of it
    (self time summed per package), from `-X importtime`, in seconds."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=repo_root(),
    )
    per_package: Counter[str] = Counter()
    line = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    total = 0
    for match in line.finditer(done.stderr):
        self_us, cumulative_us, indent, name = match.groups()
        per_package[name.split(".")[0]] += int(self_us)
        if not indent.strip() and len(indent) == 1:  # a top-level import
            total += int(cumulative_us)
    return total / 1e6, [(name, us / 1e6) for name, us in per_package.most_common(top)]


RUN = ["--panel", "vendor/a", "--judge", "vendor/judge", "--no-web"]
SCREEN = {
    # name: (arguments, what on screen ends the measure: None for the first byte)
    "Enter -> first line on screen": (["ask", "Q?", *RUN], None),
    "Enter -> live view (thread line)": (["ask", "Q?", *RUN], b"thread: "),
    "Enter -> refusal (unknown preset)": (["ask", "Q?", "--preset", "nope"], b"unknown preset"),
    "Enter -> refusal (missing API key)": (["ask", "Q?", "--no-web"], b"no API key"),
}


def _screen_env(home: Path) -> dict[str, str]:
    """No real provider: calls would go to a closed port (the measures end before)."""
    dropped = ("OPENROUTER_API_KEY", "FUSION_CONFIG", "FUSION_BASE_URL", "FUSION_API_KEY")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env |= {"HOME": str(home), "FUSION_DB": str(home / "runs.sqlite")}
    env |= {"COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    return env


def until_on_screen(args: list[str], env: dict[str, str], wanted: bytes | None) -> float:
    """Seconds from starting `fusion args` on a pty to `wanted` (else any byte) on it."""
    master, slave = os.openpty()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [FUSION, *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=repo_root()
    )
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                raise RuntimeError(f"nothing on screen for 60 s: {seen[-300:]!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                chunk = b""
            if not chunk:
                raise RuntimeError(f"ended before {wanted!r}: {seen[-300:]!r}")
            seen += chunk
            if wanted is None or wanted in seen:
                return time.perf_counter() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)


def screen_times(options: Options) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in SCREEN}
    with tempfile.TemporaryDirectory() as home:
        env = _screen_env(Path(home))
        keyed = env | {"FUSION_BASE_URL": "http://127.0.0.1:9/v1", "FUSION_API_KEY": "bench"}
        for n in range(options.warmup + max(options.runs, 1)):
            for name, (args, wanted) in SCREEN.items():
                seconds = until_on_screen(args, env if "API key" in name else keyed, wanted)
                if n >= options.warmup:
                    times[name].append(seconds)
    return times


def run(options: Options) -> Section:
    section = Section(TITLE)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(options.warmup):
        for command in COMMANDS.values():
            _wall(command)
    for _ in range(max(options.runs, 1)):
        for name, command in COMMANDS.items():
            walls[name].append(_wall(command))
    bare = median(walls["python -c pass"])
    for name in COMMANDS:
        if name == "python -c pass":
            section.add(name, ms(bare), "", "the baseline")
            continue
        value = median(walls[name])
        section.add(f"{name} / python -c pass", ratio(value / bare), "", f"+{ms(value - bare)}")
        section.data[name] = value
    for name, values in screen_times(options).items():
        value = median(values)
        section.add(name, ms(value), "", f"{ratio(value / bare)} x python -c pass")
        section.data[name] = value
    total, heaviest = heaviest_imports("fusion.graph.builder")
    share = ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in heaviest)
    section.notes.append(f"import fusion.graph.builder (-X importtime, {ms(total)}): {share}")
    section.data["bare"] = bare
    section.data["heaviest_imports"] = heaviest
    section.notes.append(f"median of {options.runs} runs after {options.warmup} warm-up")
    return section

"""6. CLI start-up: `fusion --help` wall time and the import time of `fusion`,
`fusion.api` and `fusion.graph.builder` (what a run loads), each in a fresh
interpreter (median of `--runs` after a warm-up), as ratios to a bare `python -c pass`;
and, from `python -X importtime`, the packages that dominate a run's imports."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.harness import Options, Section, median, ms, ratio, repo_root

TITLE = "6. CLI start-up and import time (fresh interpreter each)"

# The console script installed beside this interpreter: an unactivated venv (as in CI)
# has it there but not on PATH.
FUSION = shutil.which("fusion") or str(Path(sys.executable).with_name("fusion"))

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
    total, heaviest = heaviest_imports("fusion.graph.builder")
    share = ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in heaviest)
    section.notes.append(f"import fusion.graph.builder (-X importtime, {ms(total)}): {share}")
    section.data["bare"] = bare
    section.data["heaviest_imports"] = heaviest
    section.notes.append(f"median of {options.runs} runs after {options.warmup} warm-up")
    return section

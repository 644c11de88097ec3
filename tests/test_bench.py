"""Smoke test of `bench/`: every bench runs once at tiny size and prints its ratios.

No timing is asserted (the figures are the benches' business, and this machine's
load is not this test's): only that each bench still runs end to end, through the
real clients, the scripted servers and `langgraph dev`, and prints a table.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHES

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--runs", "1", "--warmup", "1", "--scale", "0.05", "--sizes", "4,8", "--server-runs", "3"]


def test_every_bench_runs_once_at_tiny_size_and_prints_its_ratios(tmp_path: Path) -> None:
    figures = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=720,  # a loaded 2-core machine: nine benches, three start fusion serve
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    titles = re.findall(r"^(\d)\. ", done.stdout, re.M)
    assert titles == [str(i) for i in range(1, len(BENCHES) + 1)], done.stdout
    for section in re.split(r"^\d\. ", done.stdout, flags=re.M)[1:]:
        assert re.search(r"[│|] +\d+\.\d{3} [│|]", section), section  # a ratio in the table
    assert f"bench: {len(BENCHES)} benches in" in done.stdout
    assert figures.stat().st_size > 0

"""Smoke test of `bench/`: every bench runs once at tiny size and prints its ratios.

No timing is asserted (the figures are the benches' business, and this machine's
load is not this test's): only that each bench still runs end to end, through the
real clients, the scripted servers and `langgraph dev`, and prints a table.
"""

from __future__ import annotations

import json
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


def test_the_profile_bench_splits_a_served_answers_cpu_into_shares(tmp_path: Path) -> None:
    """`bench profile` attaches the real py-spy to a real `fusion serve`: every
    configuration's shares add up to one, and model calls and LangGraph's steps show."""
    figures = tmp_path / "profile.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "profile", *TINY, "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (section,) = [v for k, v in json.loads(figures.read_text()).items() if k.startswith("10.")]
    configs = {k: v for k, v in section.items() if isinstance(v, dict)}
    assert len(configs) == 4, section
    for label, config in configs.items():
        split = config["shares"]
        assert abs(sum(split.values()) - 1) < 1e-9, (label, split)
        assert split["model calls"] > 0 and split["LangGraph steps"] > 0, (label, split)
        assert config["cpu_s"] > 0

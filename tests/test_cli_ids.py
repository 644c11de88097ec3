"""Thread IDs as users paste them: `fusion runs` prints them whole; `show` and
`resume` take any unique prefix; an ambiguous prefix is a one-line error."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from fusion.api import make_context, register_run, run_input
from fusion.runs import open_checkpointer
from tests.fixtures.cli import fusion_here
from tests.fixtures.pty_run import run_in_pty

IDS = ["abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Two runs registered (their input saved, no model called) in a fresh database."""
    db = tmp_path / "runs.sqlite"

    async def register() -> None:
        context = make_context(panel=["vendor/a"], judge="vendor/judge", web=False)
        async with open_checkpointer(db) as saver:
            for n, thread_id in enumerate(IDS):
                await register_run(saver, run_input(f"question {n}?", None), context, thread_id)

    asyncio.run(register())
    return {**os.environ, "FUSION_DB": str(db), "HOME": str(tmp_path), "COLUMNS": "80"}


def test_runs_prints_whole_ids_and_questions_at_80_columns_and_piped(
    env: dict[str, str],
) -> None:
    proc = fusion_here("runs", env=env)
    assert proc.returncode == 0, proc.stderr
    for n, thread_id in enumerate(IDS):  # piped: one whole line a run
        (line,) = [x for x in proc.stdout.splitlines() if thread_id in x]
        assert line.endswith(f"question {n}?")
    code, screen = run_in_pty(["runs"], env, columns=80)
    assert code == 0, screen
    shown = screen.replace("\r", "")
    for n, thread_id in enumerate(IDS):  # a terminal of 80: the question under its run
        assert thread_id in shown and f"question {n}?" in shown


def test_show_accepts_a_unique_prefix(env: dict[str, str]) -> None:
    proc = fusion_here("show", "abcd2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "question 1?" in proc.stdout
    assert "question 0?" not in proc.stdout


@pytest.mark.parametrize("command", ["show", "resume"])
def test_an_ambiguous_prefix_is_one_line_listing_the_matches(
    command: str, env: dict[str, str]
) -> None:
    proc = fusion_here(command, "abcd", env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "matches 2 runs" in line
    assert IDS[0] in line and IDS[1] in line


def test_an_unknown_prefix_names_the_fix(env: dict[str, str]) -> None:
    proc = fusion_here("show", "ffff", env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "fusion runs" in line

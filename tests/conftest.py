"""Shared fixtures: scripted local servers for models, search and web pages."""

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.llm",
    "tests.fixtures.web",
    "tests.fixtures.postgres",
    "tests.fixtures.mcp",
]


@pytest.fixture(autouse=True)
def isolated_run_db(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test checkpoints into its own SQLite file, never the user's."""
    path = tmp_path_factory.mktemp("runs") / "runs.sqlite"
    monkeypatch.setenv("FUSION_DB", str(path))
    return path

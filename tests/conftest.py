"""Shared fixtures: scripted local servers for models, search and web pages."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from fusion.core.capabilities import forget_capabilities

pytest_plugins = [
    "tests.fixtures.llm",
    "tests.fixtures.web",
    "tests.fixtures.postgres",
    "tests.fixtures.mcp",
    "tests.fixtures.llama_server",
]


@pytest.fixture(autouse=True)
def fresh_capabilities() -> Iterator[None]:
    """What a test's run learned about a server's capabilities (a forced tool call
    answered in prose) stays with that test: the session's servers share one URL."""
    yield
    forget_capabilities()


@pytest.fixture(autouse=True)
def isolated_run_db(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test checkpoints into its own SQLite file, never the user's."""
    path = tmp_path_factory.mktemp("runs") / "runs.sqlite"
    monkeypatch.setenv("FUSION_DB", str(path))
    return path

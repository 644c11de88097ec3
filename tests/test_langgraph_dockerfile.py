"""`langgraph dockerfile` (langgraph-cli, in the dev extra) on this repo's
`langgraph.json`: the image LangGraph's licensed server would build serves the
`fusion` graph and Fusion's HTTP app from the repo as installed, and `.dockerignore`
keeps a developer's `.env` and run databases out of it. No Docker needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def langgraph_cli() -> str:
    beside = Path(sys.executable).with_name("langgraph")
    found = str(beside) if beside.exists() else shutil.which("langgraph")
    if found is None:
        pytest.skip("langgraph-cli is not installed: pip install -e '.[dev]'")
    return found


def test_the_dockerfile_serves_the_graph_and_app_from_the_installed_repo(tmp_path: Path) -> None:
    out = tmp_path / "Dockerfile"
    done = subprocess.run(
        [langgraph_cli(), "dockerfile", "-c", str(REPO / "langgraph.json"), str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANGGRAPH_CLI_NO_ANALYTICS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    config = json.loads((REPO / "langgraph.json").read_text())

    assert re.search(rf"^FROM langchain/langgraph-api:{config['python_version']}\b", text, re.M)
    deps = f"/deps/{REPO.name}"
    assert f"ADD . {deps}" in text
    assert "pip install" in text and "-e ." in text  # the repo, with its dependencies
    graphs = json.loads(re.search(r"^ENV LANGSERVE_GRAPHS='(.*)'$", text, re.M)[1])  # type: ignore[index]
    graph_file, _, attr = graphs["fusion"].partition(":")
    assert graph_file.startswith(f"{deps}/") and attr == "graph"
    assert (REPO / graph_file.removeprefix(f"{deps}/")).is_file()  # the file it names exists
    http = json.loads(re.search(r"^ENV LANGGRAPH_HTTP='(.*)'$", text, re.M)[1])  # type: ignore[index]
    assert http == config["http"]
    assert "OPENROUTER_API_KEY" not in text and "TAVILY_API_KEY" not in text  # keys at run time


def test_dockerignore_keeps_secrets_and_run_databases_out_of_the_image() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()

    assert {".env", "*.sqlite", ".langgraph_api/", ".git/"} <= set(ignored)
    assert "!.env.example" in ignored

"""Prompts from stdin and files, and `--json` keeping its promise on bad input: one
JSON object on stdout, errors included, with the usual exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import Error, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge


@pytest.fixture
def env(llm_env: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    dropped = ("OPENROUTER_API_KEY", "TAVILY_API_KEY", "FUSION_CONFIG")
    run_env = {k: v for k, v in os.environ.items() if k not in dropped}
    run_env["HOME"] = str(tmp_path)
    run_env["FUSION_DB"] = str(tmp_path / "runs.sqlite")
    return run_env


RUN = ["--panel", "vendor/a", "--judge", "vendor/judge", "--no-web", "--json"]


def test_a_dash_reads_the_prompt_from_stdin(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/judge", echo_judge)
    question = "Which [b]old question\ncame from stdin?"
    proc = subprocess.run(
        [sys.executable, "-m", "fusion.cli.main", "ask", "-", *RUN],
        input=question + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"
    (request,) = llm_env.requests_for("vendor/a")
    assert question in request.text
    assert "\n-\n" not in request.text


def test_prompt_file_is_read(
    llm_env: ScriptedLLMServer, env: dict[str, str], tmp_path: Path
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/judge", echo_judge)
    path = tmp_path / "question.md"
    path.write_text("A question from a file, é included?\n", encoding="utf-8")
    proc = fusion_here("ask", "--prompt-file", str(path), *RUN, env=env)
    assert proc.returncode == 0, proc.stderr
    (request,) = llm_env.requests_for("vendor/a")
    assert "A question from a file, é included?" in request.text


PROMPT_ERRORS = {
    "no prompt": (["ask", "--no-web"], "no prompt"),
    "two prompts": (["ask", "Q?", "--prompt-file", "x.md", "--no-web"], "two prompts"),
    "missing file": (["ask", "--prompt-file", "/nonexistent/q.md", "--no-web"], "cannot read"),
}


@pytest.mark.parametrize("case", sorted(PROMPT_ERRORS))
def test_prompt_errors_are_one_line(case: str, env: dict[str, str]) -> None:
    args, expected = PROMPT_ERRORS[case]
    proc = fusion_here(*args, env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert expected in line


JSON_ERRORS = {
    "usage": (["ask", "Q?", "--max-tool-calls", "many"], "usage_error"),
    "unknown preset": (["ask", "Q?", "--preset", "nope", "--no-web"], "config_error"),
    "empty prompt": (["ask", "  ", "--no-web"], "config_error"),
    # an unset shell variable (`--judge "$J"`) is refused, never the preset's judge
    "empty judge": (
        ["ask", "Q?", "--panel", "vendor/a", "--judge", "", "--no-web"],
        "config_error",
    ),
    "missing key": (["ask", "Q?", "--panel", "vendor/a", "--judge", "vendor/j"], "setup_error"),
    "unknown run": (["show", "0000ffff"], "config_error"),
}


@pytest.mark.parametrize("case", sorted(JSON_ERRORS))
def test_json_errors_are_one_object_on_stdout(case: str, env: dict[str, str]) -> None:
    args, kind = JSON_ERRORS[case]
    proc = fusion_here(*args, "--json", env=env)
    assert proc.returncode == 2
    (line,) = proc.stdout.splitlines()
    error = json.loads(line)
    assert error["status"] == "error"
    assert error["error"]["type"] == kind
    assert error["error"]["message"]
    assert len(proc.stderr.strip().splitlines()) == 1  # and the line for a human


HEAVY = ("langchain", "langchain_core", "langchain_openai", "langgraph", "openai", "rich")


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "Q?", "--preset", "nope"],
        ["ask", "  "],
        ["ask", "Q?", "--panel", "vendor/a", "--judge", "vendor/j", "--no-web"],  # no key
        ["ask", "Q?", "--max-tool-calls", "many"],
    ],
    ids=["unknown preset", "empty prompt", "missing key", "bad flag"],
)
def test_bad_input_is_refused_before_the_heavy_imports(args: list[str], tmp_path: Path) -> None:
    """What the refusal loaded, read from a fresh interpreter's `sys.modules`: no
    LangChain, LangGraph, OpenAI SDK or Rich (their import is what takes seconds)."""
    code = (
        "import sys\n"
        "from fusion.cli.main import main\n"
        f"status = main({args!r})\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules})\n"
        "print(status, ' '.join(loaded), file=sys.stderr)\n"
    )
    dropped = ("OPENROUTER_API_KEY", "FUSION_BASE_URL", "FUSION_API_KEY", "FUSION_CONFIG")
    env = {k: v for k, v in os.environ.items() if k not in dropped} | {"HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    status, *loaded = proc.stderr.strip().splitlines()[-1].split()
    assert status == "2", proc.stderr
    assert not set(loaded) & set(HEAVY), set(loaded) & set(HEAVY)


@pytest.mark.parametrize("kind", ["a folder", "not a database"])
def test_a_db_that_cannot_be_opened_is_one_line_and_exit_2(
    kind: str, llm_env: ScriptedLLMServer, env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path
    if kind == "not a database":
        db = tmp_path / "notes.md"
        db.write_text("# notes, not runs\n" * 100)
    listed = fusion_here("runs", "--db", str(db), env=env)
    assert listed.returncode == 2
    (line,) = listed.stderr.strip().splitlines()
    assert f"cannot open the run database {db}" in line and "--db" in line

    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/judge", echo_judge)
    asked = fusion_here("ask", "Q?", *RUN, "--db", str(db), env=env)
    assert asked.returncode == 2
    assert json.loads(asked.stdout)["error"]["type"] == "config_error"
    assert llm_env.requests == []  # refused before any call


def test_a_failed_run_says_what_to_run_next(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/judge", Error(400, "context too long"))
    asked = fusion_here("ask", "Q?", *[a for a in RUN if a != "--json"], env=env)
    assert asked.returncode == 1, asked.stderr
    thread_id = asked.stderr.split("thread: ", 1)[1].split()[0]
    step = (
        f"next: `fusion resume {thread_id}` retries only what failed, or "
        f"`fusion rejudge {thread_id} --judge MODEL` judges the drafts again"
    )
    assert step in asked.stderr
    shown = fusion_here("show", thread_id, env={**env, "COLUMNS": "60"})
    assert shown.returncode == 0, shown.stderr
    assert step in shown.stdout  # whole, though wider than the terminal: it is pasted

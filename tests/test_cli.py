"""The `fusion` command: JSON output and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.fixtures.cli import fusion_here, run_fusion
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

TOP_LEVEL = {
    "status",
    "answer",
    "analysis",
    "responses",
    "failed_models",
    "failure_reason",
    "usage",
    "thread_id",
}
RESPONSE_FIELDS = {"model", "status", "text", "sources", "usage", "cost_usd"}


@pytest.fixture
def cli_env(llm_env: ScriptedLLMServer, tmp_path: Path, run_db: str) -> dict[str, str]:
    """The test process's environment (pointing at the scripted server), with no
    search key, no OpenRouter key and no user config file; runs are checkpointed in
    SQLite and, in a second pass, PostgreSQL (`run_db`)."""
    dropped = ("OPENROUTER_API_KEY", "TAVILY_API_KEY", "FUSION_CONFIG")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["HOME"] = str(tmp_path)
    env["FUSION_DB"] = run_db
    return env


def test_ask_json_prints_one_object_with_every_field(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    llm_env.script("vendor/a", Text("alpha draft", cost=0.001))
    llm_env.script("vendor/b", Text("beta draft", cost=0.002))
    llm_env.script("vendor/judge", echo_judge)

    proc = run_fusion(
        "ask",
        "What is fusion?",
        "--panel",
        "vendor/a",
        "--panel",
        "vendor/b",
        "--judge",
        "vendor/judge",
        "--no-web",
        "--json",
        env=cli_env,
    )

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data.keys() >= TOP_LEVEL
    assert data["status"] == "ok"
    assert {"prompt_tokens", "completion_tokens", "cost_usd"} <= data["usage"].keys()
    assert len(data["responses"]) == 2
    for response in data["responses"]:
        assert response.keys() >= RESPONSE_FIELDS
    assert set(data["analysis"]) == {
        "consensus",
        "contradictions",
        "partial_coverage",
        "unique_insights",
        "blind_spots",
    }
    assert data["failed_models"] == [] and data["failure_reason"] is None
    assert proc.stderr.splitlines()[0] == f"thread: {data['thread_id']}"


BAD_INPUTS = {
    "empty prompt": (["ask", "   ", "--no-web"], "prompt is empty"),
    "unknown preset": (["ask", "Q?", "--preset", "nope", "--no-web"], "unknown preset 'nope'"),
    "empty panel model": (["ask", "Q?", "--panel", "", "--no-web"], "panel model ID is empty"),
    "nine panelists": (
        ["ask", "Q?", "--no-web", *[a for i in range(9) for a in ("--panel", f"v/m{i}")]],
        "at most 8",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(case: str, cli_env: dict[str, str]) -> None:
    args, expected = BAD_INPUTS[case]
    proc = fusion_here(*args, env=cli_env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_preset_with_empty_panel_exits_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "fusion.toml"
    config.write_text('[presets.empty]\npanel = []\njudge = "vendor/judge"\n')
    proc = fusion_here(
        "ask", "Q?", "--preset", "empty", "--no-web", env={**cli_env, "FUSION_CONFIG": str(config)}
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "fusion: error: the panel is empty: give 1 to 8 models with --panel, or a preset"
    ]


def test_missing_api_key_exits_2_naming_the_variable(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("FUSION_BASE_URL", "FUSION_API_KEY")}
    proc = fusion_here("ask", "Q?", "--no-web", env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "OPENROUTER_API_KEY" in line


def test_missing_search_key_exits_2_unless_no_web(cli_env: dict[str, str]) -> None:
    proc = fusion_here("ask", "Q?", "--panel", "vendor/a", "--judge", "vendor/j", env=cli_env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "TAVILY_API_KEY" in line


def test_presets_lists_shipped_presets(cli_env: dict[str, str]) -> None:
    proc = fusion_here("presets", env={**cli_env, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "quality" in proc.stdout and "budget" in proc.stdout
    assert "~anthropic/claude-opus-latest" in proc.stdout


def test_ask_in_a_terminal_shows_live_table_answer_and_cost_line(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    import pty

    llm_env.script("vendor/a", Text("alpha draft", cost=0.001))
    llm_env.script("vendor/judge", echo_judge)
    command = [
        sys.executable,
        "-m",
        "fusion.cli.main",
        "ask",
        "Q?",
        "--panel",
        "vendor/a",
        "--judge",
        "vendor/judge",
        "--no-web",
    ]
    output = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 4096)
        output.extend(data)
        return data

    env = {**cli_env, "COLUMNS": "120", "TERM": "xterm"}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        status = pty.spawn(command, read)
    finally:
        os.environ.clear()
        os.environ.update(old)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "vendor/a" in text and "done" in text  # the live table
    assert "writing the answer" in text and "answer so far" in text  # streaming in
    assert "Fused answer" in text  # the answer, rendered
    assert "$0.0010" in text and "thread" in text  # the cost line

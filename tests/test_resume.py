"""Checkpointed runs: killed with SIGKILL mid-run, then resumed without re-paying drafts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.checkpoints import saved_writes, wait_for
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import Error, Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, is_analysis_request, responses_in
from tests.fixtures.postgres import postgres_bin

PANEL = ["vendor/fast-a", "vendor/fast-b", "vendor/slow-c"]


@pytest.fixture
def env(llm_env: ScriptedLLMServer, tmp_path: Path, run_db: str) -> dict[str, str]:
    """Every test here runs on SQLite and on PostgreSQL (`run_db`)."""
    run_env = {k: v for k, v in os.environ.items() if k not in ("TAVILY_API_KEY",)}
    run_env["FUSION_DB"] = run_db
    run_env["HOME"] = str(tmp_path)
    return run_env


AT_A_TERMINAL = (
    "import signal, sys\n"
    # Ctrl-C as at a terminal: a job started in the background (CI's, often) ignores
    # SIGINT, and Python then leaves it ignored in every process it starts
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from fusion.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def started(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`fusion *args` running, as from a terminal, and the thread ID it printed first
    (`thread: ...`)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", AT_A_TERMINAL, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    first_line = proc.stderr.readline().strip()
    assert first_line.startswith("thread: "), first_line
    return proc, first_line.removeprefix("thread: ")


def test_sigkill_after_two_drafts_then_resume_calls_only_the_missing_panelist(
    llm_env: ScriptedLLMServer, env: dict[str, str], tmp_path: Path
) -> None:
    llm_env.script("vendor/fast-a", Text("draft from the first fast panelist", cost=0.001))
    llm_env.script("vendor/fast-b", Text("draft from the second fast panelist", cost=0.001))
    llm_env.script("vendor/slow-c", Hang())
    llm_env.script("vendor/judge", echo_judge)
    args = ["ask", "Q?", "--no-web", "--json", "--judge", "vendor/judge"]
    for model in PANEL:
        args += ["--panel", model]

    proc, thread_id = started(args, env)
    db = env["FUSION_DB"]
    # fan_out's reset of `responses` is one write; each finished panelist adds one
    wait_for(
        lambda: saved_writes(db, thread_id, "responses") >= 3,
        "two drafts in the checkpoint",
    )
    assert llm_env.requests_for("vendor/slow-c"), "the slow panelist was called"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    show = run_fusion("show", thread_id, "--json", env=env)
    assert show.returncode == 0, show.stderr
    shown = json.loads(show.stdout)
    assert shown["pending"] == ["panelist"]
    assert sorted(r["model"] for r in shown["result"]["responses"]) == PANEL[:2]
    assert shown["result"]["usage"]["cost_usd"] == pytest.approx(0.002)  # the paid drafts
    read = run_fusion("show", thread_id[:8], env={**env, "COLUMNS": "200"})
    assert read.returncode == 0, read.stderr
    assert "draft from the first fast panelist" in read.stdout
    assert "no answer yet" in read.stdout and "None" not in read.stdout
    assert "interrupted · " in read.stdout and "$0.0020" in read.stdout

    llm_env.reset()
    llm_env.script("vendor/slow-c", Text("draft from the slow panelist", cost=0.001))
    llm_env.script("vendor/judge", echo_judge)
    resumed = run_fusion("resume", thread_id, "--json", env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0] == f"thread: {thread_id}"
    assert llm_env.requests_for("vendor/fast-a") == []
    assert llm_env.requests_for("vendor/fast-b") == []
    assert len(llm_env.requests_for("vendor/slow-c")) == 1
    judge_request = llm_env.requests_for("vendor/judge")[0]
    assert sorted(responses_in(judge_request).values()) == [
        "draft from the first fast panelist",
        "draft from the second fast panelist",
        "draft from the slow panelist",
    ]
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok"
    assert result["thread_id"] == thread_id
    assert len(result["responses"]) == 3

    listed = json.loads(run_fusion("runs", "--json", env=env).stdout)
    assert listed[0]["thread_id"] == thread_id and listed[0]["status"] == "ok"


def test_checkpoint_files_never_hold_the_api_key(
    llm_env: ScriptedLLMServer, env: dict[str, str], tmp_path: Path
) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    env["FUSION_API_KEY"] = secret
    llm_env.script("vendor/a", Text("alpha"))
    llm_env.script("vendor/judge", echo_judge)

    proc = run_fusion(
        "ask", "Q?", "--no-web", "--json", "--panel", "vendor/a", "--judge", "vendor/judge", env=env
    )

    assert proc.returncode == 0, proc.stderr
    assert llm_env.requests_for("vendor/a")[0].headers["authorization"] == f"Bearer {secret}"
    stored = database_bytes(env["FUSION_DB"])
    assert len(stored) > 1000  # the run's checkpoints are in there
    assert secret.encode() not in stored
    assert secret not in proc.stdout + proc.stderr


def database_bytes(db: str) -> bytes:
    """Everything the database holds: its files, or a PostgreSQL dump of its data."""
    if db.startswith("postgresql://"):
        dump = subprocess.run(
            [str(postgres_bin() / "pg_dump"), "--data-only", db], capture_output=True, check=True
        )
        return dump.stdout
    return b"".join(p.read_bytes() for p in Path(db).parent.glob(Path(db).name + "*"))


def test_resume_of_an_unknown_thread_is_one_clear_line(env: dict[str, str]) -> None:
    proc = run_fusion("resume", "no-such-thread", env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "no run 'no-such-thread'" in line and "fusion runs" in line


def test_a_run_short_of_quorum_resumes_by_retrying_only_the_failed_panelist(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    llm_env.script("vendor/ok", Text("steady draft", cost=0.001))
    llm_env.script("vendor/down", lambda r: Error(503, "maintenance"))
    llm_env.script("vendor/judge", echo_judge)
    args = [
        "--no-web",
        "--json",
        "--judge",
        "vendor/judge",
        "--quorum",
        "2",
        "--panel",
        "vendor/ok",
        "--panel",
        "vendor/down",
    ]

    first = run_fusion("ask", "Q?", *args, env=env)
    failed = json.loads(first.stdout)
    assert first.returncode == 1
    assert failed["failure_reason"] == "insufficient_panel"

    llm_env.reset()
    llm_env.script("vendor/down", Text("back online draft", cost=0.002))
    llm_env.script("vendor/judge", echo_judge)
    resumed = run_fusion("resume", failed["thread_id"], "--json", env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert llm_env.requests_for("vendor/ok") == []
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok" and result["failed_models"] == []
    assert sorted(r["text"] for r in result["responses"]) == ["back online draft", "steady draft"]
    assert result["usage"]["cost_usd"] == pytest.approx(0.003)


def test_a_run_whose_judge_failed_resumes_with_the_judge_only(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", lambda r: Error(400, "context too long"))
    first = run_fusion(
        "ask", "Q?", "--no-web", "--json", "--panel", "vendor/a", "--judge", "vendor/judge", env=env
    )
    failed = json.loads(first.stdout)
    assert failed["failure_reason"] == "judge_upstream_error"

    llm_env.reset()
    llm_env.script("vendor/judge", echo_judge)
    resumed = run_fusion("resume", failed["thread_id"], "--json", env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert llm_env.requests_for("vendor/a") == []
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok" and "draft a" in result["answer"]


def test_panelist_killed_inside_its_tool_loop_resumes_from_its_own_checkpoint(
    llm_env: ScriptedLLMServer, web_env: object, env: dict[str, str]
) -> None:
    from tests.fixtures.llm_replies import ChatRequest, ToolCalls

    web_env.on_search(lambda query: [])  # type: ignore[attr-defined]
    env.update({k: os.environ[k] for k in ("TAVILY_BASE_URL", "TAVILY_API_KEY")})

    def first_life(request: ChatRequest) -> ToolCalls | Hang:
        if not request.tool_results:
            return ToolCalls([("web_search", {"query": "tides"})])
        return Hang()

    llm_env.script("vendor/searcher", first_life)
    llm_env.script("vendor/judge", echo_judge)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fusion.cli.main",
            "ask",
            "Q?",
            "--json",
            "--panel",
            "vendor/searcher",
            "--judge",
            "vendor/judge",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    thread_id = proc.stderr.readline().strip().removeprefix("thread: ")
    wait_for(lambda: len(llm_env.requests_for("vendor/searcher")) >= 2, "the second model call")
    wait_for(
        lambda: saved_writes(env["FUSION_DB"], thread_id, "messages", namespace="?*") >= 2,
        "the tool round in the panelist's checkpoint",
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    searches_before = len(web_env.searches())  # type: ignore[attr-defined]

    llm_env.reset()
    llm_env.script("vendor/searcher", lambda r: Text(f"answer after {len(r.tool_results)} result"))
    llm_env.script("vendor/judge", echo_judge)
    resumed = run_fusion("resume", thread_id, "--json", env=env)

    assert resumed.returncode == 0, resumed.stderr
    (request,) = llm_env.requests_for("vendor/searcher")  # no first call again
    assert len(request.tool_results) == 1  # it carries the tool round from before the kill
    assert len(web_env.searches()) == searches_before  # type: ignore[attr-defined]
    assert json.loads(resumed.stdout)["responses"][0]["text"] == "answer after 1 result"


def test_a_run_without_its_analysis_resumes_for_the_analysis_alone(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", lambda r: Text("The answer is a."))  # prose analysis
    first = run_fusion(
        "ask", "Q?", "--no-web", "--json", "--panel", "vendor/a", "--judge", "vendor/judge", env=env
    )
    degraded = json.loads(first.stdout)
    assert degraded["status"] == "degraded" and degraded["analysis"] is None
    assert degraded["failure_reason"] == "judge_not_valid_json"

    llm_env.reset()
    llm_env.script("vendor/judge", echo_judge)
    resumed = run_fusion("resume", degraded["thread_id"], "--json", env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert "retrying the judge's analysis" in resumed.stderr
    assert llm_env.requests_for("vendor/a") == []
    (request,) = llm_env.requests_for("vendor/judge")
    assert is_analysis_request(request) and "The answer is a." in request.text
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok" and result["failure_reason"] is None
    assert result["answer"] == "The answer is a."  # the answer already paid for, kept
    assert result["analysis"]["unique_insights"][0]["insight"] == "draft a"
    # the first life's three judge calls and the analysis call are all in the cost
    assert result["usage"]["completion_tokens"] > degraded["usage"]["completion_tokens"]


def test_ctrl_c_names_the_run_to_resume_and_json_gives_its_thread_id(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    """Ctrl-C (SIGINT) mid-run: exit 130, and the refusal names the run, on stderr and in
    the JSON on stdout (a script reading stdout alone can find the paid drafts)."""
    llm_env.script("vendor/fast-a", Text("draft A", cost=0.001))
    llm_env.script("vendor/slow-c", Hang())
    args = ["ask", "Q?", "--no-web", "--json", "--judge", "vendor/judge"]
    args += ["--panel", "vendor/fast-a", "--panel", "vendor/slow-c"]
    proc, thread_id = started(args, env)
    wait_for(lambda: saved_writes(env["FUSION_DB"], thread_id, "responses") >= 2, "A's draft")
    wait_for(lambda: bool(llm_env.requests_for("vendor/slow-c")), "the hanging call")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    refusal = json.loads(stdout)
    assert refusal["thread_id"] == thread_id
    assert refusal["error"]["type"] == "interrupted"
    assert f"fusion resume {thread_id}" in refusal["error"]["message"]
    assert f"fusion resume {thread_id}" in stderr

    llm_env.script("vendor/slow-c", Text("draft C", cost=0.001))
    llm_env.script("vendor/judge", echo_judge)
    resumed = run_fusion("resume", refusal["thread_id"], "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "ok"
    assert len(llm_env.requests_for("vendor/fast-a")) == 1  # paid once

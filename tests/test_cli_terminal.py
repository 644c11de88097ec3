"""What models and pages wrote is printed as data in every terminal view: markup-like
text (`[/note]`, `[citation needed]`, `a[i]`, a search for `[/official]`) comes out
literally and escape sequences come out visible, through a real pty and piped; and
`fusion show PREFIX` prints every draft and the analysis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import ChatRequest, Structured, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import judge_reply, responses_in
from tests.fixtures.pty_run import run_in_pty
from tests.fixtures.web_server import ScriptedWebServer

RED = "\x1b[31mred\x1b[0m"
TITLE = "\x1b]0;owned\x07"
SHOWN_RED = "␛[31mred␛[0m"
SHOWN_TITLE = "␛]0;owned␇"
LINK = "https://notes.example/a"  # a model's link: its address shown, never hidden in a live link
LITERAL = ["[/note]", "[citation needed]", "a[i]", "[/official]"]
DRAFTS = {
    "vendor/researcher": "Researcher draft: I searched for [/official] and found a[i].",
    "vendor/writer": "Writer draft: the claim [citation needed] stands [/note].",
}


def hostile_judge(request: ChatRequest) -> Text | Structured:
    letters = sorted(responses_in(request))
    answer = (
        "The answer quotes [/note], [citation needed] and a[i], "
        f"searched for [/official], then {RED} and {TITLE} done. "
        f"See [the notes]({LINK})."
    )
    analysis: dict[str, Any] = {
        "consensus": ["both agree [/note] closes nothing"],
        "contradictions": [
            {
                "topic": "does a[i] index",
                "stances": [
                    {"response": k, "stance": f"stance {k} [citation needed]"} for k in letters
                ],
            }
        ],
        "partial_coverage": [],
        "unique_insights": [{"response": letters[0], "insight": f"insight {RED}"}],
        "blind_spots": [f"nobody read [/official] {TITLE}"],
    }
    return judge_reply(request, answer, analysis, cost=0.002)


def researcher(request: ChatRequest) -> Text | ToolCalls:
    if not request.tool_results:
        return ToolCalls([("web_search", {"query": "[/official] sources"})])
    return Text(DRAFTS["vendor/researcher"], cost=0.001)


@pytest.fixture
def env(llm_env: ScriptedLLMServer, web_env: ScriptedWebServer, tmp_path: Path) -> dict[str, str]:
    llm_env.script("vendor/researcher", researcher)
    llm_env.script("vendor/writer", Text(DRAFTS["vendor/writer"], cost=0.001))
    llm_env.script("vendor/judge", hostile_judge)
    web_env.on_search(
        [{"title": f"[bold]Official[/bold] {RED}", "url": web_env.url("/a[i]"), "content": "x"}]
    )
    dropped = ("OPENROUTER_API_KEY", "FUSION_CONFIG")
    run_env = {k: v for k, v in os.environ.items() if k not in dropped}
    run_env["HOME"] = str(tmp_path)
    run_env["FUSION_DB"] = str(tmp_path / "runs.sqlite")
    return run_env


ASK = [
    "ask",
    "Does [/note] close a[i]?",
    "--panel",
    "vendor/researcher",
    "--panel",
    "vendor/writer",
    "--judge",
    "vendor/judge",
    "--max-tool-calls",
    "1",
]


def assert_shown_as_data(text: str) -> None:
    for literal in LITERAL:
        assert literal in text, literal
    assert SHOWN_RED in text and SHOWN_TITLE in text
    assert TITLE not in text and "\x1b]0;" not in text and RED not in text
    assert "\x1b]8;" not in text  # no terminal hyperlink (OSC 8) hiding where it points


def thread_of(text: str) -> str:
    found = re.search(r"thread: ([0-9a-f-]{36})", text)
    assert found, text
    return found.group(1)


def test_ask_in_a_terminal_prints_markup_like_text_literally(env: dict[str, str]) -> None:
    code, screen = run_in_pty(ASK, env)
    assert code == 0, screen
    assert "Traceback" not in screen
    assert_shown_as_data(screen)
    assert f"the notes ({LINK})" in re.sub(r"\x1b\[[0-9;]*m", "", screen)
    assert "$0.0040" in screen  # the cost line: two drafts and the judge

    code, shown = run_in_pty(["show", thread_of(screen)[:8]], env)
    assert code == 0, shown
    assert_shown_as_data(shown)


def test_ask_piped_writes_the_plain_markdown_answer_and_show_prints_drafts(
    env: dict[str, str],
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fusion.cli.main", *ASK],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # stdout is the answer as the judge wrote it: unwrapped, unstyled, escapes visible
    assert proc.stdout == (
        "The answer quotes [/note], [citation needed] and a[i], "
        f"searched for [/official], then {SHOWN_RED} and {SHOWN_TITLE} done. "
        f"See [the notes]({LINK}).\n"
    )
    assert "query=[/official] sources" in proc.stderr  # the progress lines
    cost_line = proc.stderr.strip().splitlines()[-1]
    assert cost_line.startswith("ok · ") and "$0.0040" in cost_line
    thread_id = thread_of(proc.stderr)

    shown = fusion_here("show", thread_id[:6], env={**env, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert_shown_as_data(shown.stdout)
    for model, draft in DRAFTS.items():
        assert model in shown.stdout
        assert draft in shown.stdout  # side by side at 200 columns, each line whole
    assert "does a[i] index" in shown.stdout  # the contradiction's topic
    assert "stance A [citation needed]" in shown.stdout

    narrow = fusion_here("show", thread_id[:6], env={**env, "COLUMNS": "70"})
    assert narrow.returncode == 0, narrow.stderr
    flat = " ".join(narrow.stdout.replace("│", " ").split())
    for draft in DRAFTS.values():
        assert draft in flat  # stacked, wrapped

    report = fusion_here("show", thread_id[:6], "--markdown", env=env)
    assert report.returncode == 0 and "## Drafts" in report.stdout
    assert SHOWN_RED in report.stdout and RED not in report.stdout

    as_json = fusion_here("show", thread_id[:6], "--json", env=env)
    assert json.loads(as_json.stdout)["result"]["thread_id"] == thread_id


HOSTILE = f"[/note] [citation needed] a[i] [/official] {RED} {TITLE}"


def test_every_other_view_prints_outside_text_as_data(tmp_path: Path) -> None:
    """`presets`, `estimate`, `runs`, `show` of an interrupted run and error lines."""
    import asyncio

    from fusion.api import make_context, register_run, run_input
    from fusion.runs import open_checkpointer

    config = tmp_path / "config.toml"
    description = json.dumps(HOSTILE)  # a TOML basic string: \u escapes for the controls
    config.write_text(
        f'[presets.odd]\ndescription = {description}\npanel = ["v/[/note]"]\njudge = "v/a[i]"\n'
    )
    db = tmp_path / "runs.sqlite"

    async def register() -> None:
        context = make_context(panel=["v/[/note]"], judge="v/a[i]", web=False)
        async with open_checkpointer(db) as saver:
            await register_run(saver, run_input(HOSTILE, None), context, "0ddba11-run")

    asyncio.run(register())
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "FUSION_CONFIG": str(config),
        "FUSION_DB": str(db),
        "COLUMNS": "200",
    }

    presets = fusion_here("presets", env=env)
    assert presets.returncode == 0, presets.stderr
    assert_shown_as_data(presets.stdout)

    estimate = fusion_here("estimate", HOSTILE, "--preset", "odd", "--no-web", env=env)
    assert estimate.returncode == 0, estimate.stderr
    assert "v/[/note]" in estimate.stdout and "v/a[i]" in estimate.stdout

    runs = fusion_here("runs", env=env)
    assert runs.returncode == 0, runs.stderr
    assert "0ddba11-run" in runs.stdout
    assert_shown_as_data(runs.stdout)

    shown = fusion_here("show", "0ddba", env=env)
    assert shown.returncode == 0, shown.stderr
    assert_shown_as_data(shown.stdout)
    assert "no answer yet" in shown.stdout and "None" not in shown.stdout

    refused = fusion_here("ask", "Q?", "--preset", f"[/x]{RED}", "--no-web", env=env)
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert "[/x]" in line and RED not in line


def test_resume_shows_panelists_that_finished_before_as_done_earlier(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    from tests.fixtures.llm_replies import Error
    from tests.fixtures.panel_scripts import echo_judge

    llm_env.script("vendor/kept", Text("the kept draft", cost=0.001))
    llm_env.script("vendor/flaky", Error(400, "scripted refusal"))
    llm_env.script("vendor/judge", echo_judge)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY",)}
    env |= {"HOME": str(tmp_path), "FUSION_DB": str(tmp_path / "runs.sqlite")}
    args = ["--panel", "vendor/kept", "--panel", "vendor/flaky", "--judge", "vendor/judge"]
    failed = fusion_here("ask", "Q?", *args, "--quorum", "2", "--no-web", "--json", env=env)
    assert failed.returncode == 1, failed.stderr
    thread_id = json.loads(failed.stdout)["thread_id"]

    llm_env.script("vendor/flaky", Text("the retried draft", cost=0.001))
    code, screen = run_in_pty(["resume", thread_id[:8]], env)

    assert code == 0, screen
    assert re.search(r"vendor/kept\s+│ done earlier\s+│", screen), screen
    assert len(llm_env.requests_for("vendor/kept")) == 1  # not called again


@pytest.mark.parametrize("event", ["judge_retry", "judge_fallback"])
def test_the_live_view_drops_a_superseded_answer_tail(event: str) -> None:
    """After the judge is asked again, the live view's tail shows only the new answer."""
    import io

    from rich.console import Console

    from fusion.cli.live import LiveView

    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    view = LiveView(console, ["vendor/a"], "vendor/judge")
    view.on_event({"event": "judge_started", "model": "vendor/judge", "drafts": 1})
    view.on_answer("A first try that brea")
    console.print(view.live.renderable)
    view.on_event({"event": event, "model": "vendor/judge", "reason": "judge_not_valid_json"})
    view.on_answer("The second try")
    console.print(view.live.renderable)

    first, second = out.getvalue().split("answer so far")[1:]
    assert "A first try that brea" in first
    assert "The second try" in second and "A first try" not in second


def test_the_live_view_keeps_the_answer_a_fallback_judge_only_analyses() -> None:
    """A fallback judge given the answer writes no answer tokens: the tail stays."""
    import io

    from rich.console import Console

    from fusion.cli.live import LiveView

    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    view = LiveView(console, ["vendor/a"], "vendor/judge")
    view.on_event({"event": "judge_started", "model": "vendor/judge", "drafts": 1})
    view.on_answer("The kept answer")
    view.on_event(
        {"event": "judge_done", "model": "vendor/judge", "status": "judge_not_valid_json"}
    )
    view.on_event({"event": "judge_started", "model": "vendor/backup", "drafts": 1})
    console.print(view.live.renderable)

    assert "vendor/backup" in out.getvalue()
    assert "The kept answer" in out.getvalue().split("answer so far")[-1]


def test_a_hostile_database_path_and_thread_id_are_printed_as_data(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    """The database path (prune's table title) and thread IDs (a run saved through the
    API can have any) in `prune`, `show`, `resume` and `rejudge`."""
    import asyncio

    from fusion.api import make_context, register_run
    from fusion.runs import open_checkpointer
    from tests.fixtures.panel_scripts import echo_judge

    llm_env.script("vendor/a", lambda r: Text("a draft"))
    llm_env.script("vendor/judge", echo_judge)
    folder = tmp_path / f"db a[i] [bold]x {RED}"
    folder.mkdir()
    db = folder / "runs.sqlite"
    thread_id = f"0ddba11 a[i] [bold]y {RED} {TITLE}"

    async def register() -> None:
        context = make_context(panel=["vendor/a"], judge="vendor/judge", web=False)
        async with open_checkpointer(db) as saver:
            await register_run(saver, {"prompt": "Q?"}, context, thread_id)

    asyncio.run(register())
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY",)}
    env |= {"HOME": str(tmp_path), "FUSION_DB": str(db), "COLUMNS": "200"}

    def assert_data(text: str, *literal: str) -> None:
        for part in ("a[i]", *literal):
            assert part in text, (part, text)
        assert SHOWN_RED in text and RED not in text and TITLE not in text, text

    listed = fusion_here("prune", "--older-than", "0.001s", "--dry-run", env=env)
    assert listed.returncode == 0, listed.stderr
    assert_data(listed.stdout, "[bold]x", "[bold]y")

    shown = fusion_here("show", "0ddba", env=env)
    assert shown.returncode == 0, shown.stderr
    assert_data(shown.stdout, "[bold]y")
    assert "continue it with `fusion resume 0ddba11 a[i] [bold]y ␛[31m" in shown.stdout

    resumed = fusion_here("resume", "0ddba", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert_data(resumed.stderr, "[bold]y")

    rejudged = fusion_here("rejudge", "0ddba", "--json", env=env)
    assert rejudged.returncode == 0, rejudged.stderr
    assert_data(rejudged.stderr, "[bold]y")
    assert "re-judging the drafts of 0ddba11" in rejudged.stderr

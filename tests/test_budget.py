"""Cost estimates, `--budget` refusals, the per-panelist spend share, and inputs too
large for a model's context window, against the scripted local server."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

from fusion import fuse
from fusion.core.budget import budget_share, fit_tool_results, message_tokens, spent_share_reached
from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.core.estimate import estimate_run
from fusion.core.plan import resolve_plan
from fusion.core.settings import load_settings
from fusion.core.state import CallUsage
from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import ChatRequest, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

PRICED = """
[models."vendor/a"]
input_per_million = 1.0
output_per_million = 2.0

[models."vendor/b"]
input_per_million = 1.0
output_per_million = 2.0

[models."vendor/judge"]
input_per_million = 3.0
output_per_million = 6.0

[models."vendor/small"]
input_per_million = 1.0
output_per_million = 2.0
context_window = 1000

[models."vendor/cheap"]
input_per_million = 0.0001
output_per_million = 0.0001

[models."vendor/narrow"]
input_per_million = 0.0001
output_per_million = 0.0001
context_window = 3000
"""

PANEL = ["--panel", "vendor/a", "--panel", "vendor/b", "--judge", "vendor/judge"]


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file pricing the test models, in force for this process too."""
    path = tmp_path / "fusion.toml"
    path.write_text(PRICED)
    monkeypatch.setenv("FUSION_CONFIG", str(path))
    return path


@pytest.fixture
def cli_env(llm_env: ScriptedLLMServer, config_file: Path, tmp_path: Path) -> dict[str, str]:
    """The environment for a `fusion` subprocess: the scripted server, the priced
    config file, no search or OpenRouter key, and a private HOME."""
    dropped = ("OPENROUTER_API_KEY", "TAVILY_API_KEY")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["HOME"] = str(tmp_path)
    return env


def run(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m module args`, run in this process: refusals and estimates call no
    model and need no process of their own."""
    return fusion_here(*args, env=env, module=module)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# -- refusals before any model call ------------------------------------------------


def test_ask_over_budget_is_refused_before_any_call(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    llm_env.script("vendor/a", Text("a"))
    proc = run(
        "fusion.cli.main", "ask", "Q?", *PANEL, "--no-web", "--budget", "0.000001", env=cli_env
    )
    line = one_error_line(proc)
    assert "exceeds --budget $1e-06" in line
    assert "raise the budget" in line
    assert llm_env.requests == []


def test_unpriced_model_with_budget_is_refused_naming_it(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    args = ["--panel", "vendor/unpriced", "--judge", "vendor/judge", "--no-web"]
    proc = run("fusion.cli.main", "ask", "Q?", *args, "--budget", "100", env=cli_env)
    line = one_error_line(proc)
    assert "vendor/unpriced" in line and "vendor/judge" not in line
    assert "config file" in line
    assert llm_env.requests == []


def test_prompt_over_the_smallest_context_window_is_refused(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    prompt = "word " * 2_000  # about 2,500 tokens; vendor/small holds 1,000
    args = ["--panel", "vendor/a", "--panel", "vendor/small", "--judge", "vendor/judge"]
    proc = run("fusion.cli.main", "ask", prompt, *args, "--no-web", env=cli_env)
    line = one_error_line(proc)
    assert "context window of vendor/small" in line
    assert llm_env.requests == []


async def test_fuse_refuses_over_budget_with_config_error(
    llm_env: ScriptedLLMServer, config_file: Path
) -> None:
    with pytest.raises(ConfigError, match="exceeds --budget"):
        await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False, budget_usd=1e-9)
    assert llm_env.requests == []


# -- fusion estimate -------------------------------------------------------------


def estimate_json(*args: str, env: dict[str, str]) -> dict[str, Any]:
    proc = run("fusion.cli.estimate", "What is fusion?", *PANEL, "--json", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_estimate_prints_a_range_and_calls_no_model(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    # no key for any provider or search: estimating needs none
    env = {k: v for k, v in cli_env.items() if k not in ("FUSION_BASE_URL", "FUSION_API_KEY")}
    proc = run("fusion.cli.estimate", "What is fusion?", *PANEL, env={**env, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "vendor/a" in proc.stdout and "vendor/judge" in proc.stdout
    (total,) = [line for line in proc.stdout.splitlines() if line.startswith("expected cost:")]
    low, high = (float(amount) for amount in re.findall(r"\$([0-9.]+)", total))
    assert 0 < low <= high

    data = estimate_json(env=env)
    assert 0 < data["low_usd"] <= data["high_usd"]
    assert [line["role"] for line in data["lines"]] == ["panelist", "panelist", "judge"]
    assert data["unpriced_models"] == []
    assert llm_env.requests == []


def test_estimate_never_says_zero_dollars_for_a_cost_nobody_knows(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    def total(*models: str) -> str:
        panel, judge = models[:-1], models[-1]
        args = [a for m in panel for a in ("--panel", m)] + ["--judge", judge, "--no-web"]
        proc = run("fusion.cli.estimate", "Q?", *args, env={**cli_env, "COLUMNS": "200"})
        assert proc.returncode == 0, proc.stderr
        (line,) = [x for x in proc.stdout.splitlines() if x.startswith("expected cost:")]
        return line

    nothing_priced = total("vendor/unpriced", "vendor/unpriced-judge")
    assert nothing_priced.startswith("expected cost: unknown: no price for vendor/unpriced")
    assert "$" not in nothing_priced
    partly = total("vendor/unpriced", "vendor/judge")
    assert re.fullmatch(
        r"expected cost: \$[0-9.]+ to \$[0-9.]+, not counting vendor/unpriced \(no price\)",
        partly,
    )
    assert llm_env.requests == []


def test_estimate_grows_with_tool_calls(
    llm_env: ScriptedLLMServer, cli_env: dict[str, str]
) -> None:
    highs = [estimate_json("--max-tool-calls", n, env=cli_env)["high_usd"] for n in "028"]
    assert highs[0] < highs[1] < highs[2]
    no_web = estimate_json("--no-web", env=cli_env)
    assert no_web["high_usd"] == highs[0]
    assert llm_env.requests == []


def test_estimate_over_budget_exits_1_but_still_prints(cli_env: dict[str, str]) -> None:
    proc = run("fusion.cli.estimate", "Q?", *PANEL, "--json", "--budget", "1e-9", env=cli_env)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["high_usd"] > 1e-9
    assert "exceeds --budget" in proc.stderr


def test_estimate_subcommand_of_fusion(llm_env: ScriptedLLMServer, cli_env: dict[str, str]) -> None:
    from fusion.cli.parser import build_parser

    if "estimate" not in build_parser().format_usage():
        pytest.skip("`fusion estimate` is not registered in fusion/cli/parser.py yet")
    proc = run("fusion.cli.main", "estimate", "Q?", *PANEL, "--json", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["low_usd"] <= data["high_usd"]
    assert llm_env.requests == []


def test_estimate_is_monotone_in_panel_tools_and_page_size(config_file: Path) -> None:
    settings = load_settings()

    def high(**options: Any) -> float:
        context = Context(**{"panel": ["vendor/a"], "judge": "vendor/judge", **options})
        plan = resolve_plan(context, settings)
        result = estimate_run(context, plan, settings, "x" * 1_000)
        assert result.low_usd <= result.high_usd
        return result.high_usd

    assert high() < high(panel=["vendor/a", "vendor/b"])
    assert high(max_tool_calls=1) < high(max_tool_calls=2) < high(max_tool_calls=16)
    assert high(fetch_max_chars=1_000) < high(fetch_max_chars=50_000)
    assert high(max_completion_tokens=100) < high(max_completion_tokens=8_000)
    assert high(web=False) == high(max_tool_calls=0)


# -- during the run ----------------------------------------------------------------


def spender(request: ChatRequest) -> Text | ToolCalls:
    """Searches whenever tools are offered, reporting an expensive call each time."""
    if request.tool_names:
        return ToolCalls([("web_search", {"query": "q"})], cost=1.0)
    return Text(f"drafted after {len(request.tool_results)} tool results", cost=0.5)


async def test_panelist_past_its_share_stops_using_tools_and_drafts(
    llm_env: ScriptedLLMServer, web_env: Any, config_file: Path
) -> None:
    web_env.on_search(lambda query: [])
    llm_env.script("vendor/cheap", spender)
    llm_env.script("vendor/judge", echo_judge)

    # the estimate is tiny (tiny prices) but each call reports $1: over the $0.05 share
    result = await fuse(
        "Q?", panel=["vendor/cheap"], judge="vendor/judge", max_tool_calls=4, budget_usd=0.1
    )

    requests = llm_env.requests_for("vendor/cheap")
    assert [bool(r.tool_names) for r in requests] == [True, False]
    assert "tool budget is spent" in requests[-1].text
    (response,) = result.responses
    assert response.status == "ok"
    assert response.tool_calls == 1
    assert response.text == "drafted after 1 tool results"
    assert result.status == "ok"


async def test_fetched_text_is_trimmed_to_the_context_window(
    llm_env: ScriptedLLMServer, web_env: Any, config_file: Path
) -> None:
    web_env.page("/long", "<html><body><article><p>" + "lorem ipsum " * 3_000 + "</p></article>")
    url = web_env.url("/long")

    def reader(request: ChatRequest) -> Text | ToolCalls:
        if not request.tool_results:
            return ToolCalls([("web_fetch", {"url": url})])
        return Text("read it")

    llm_env.script("vendor/narrow", reader)
    llm_env.script("vendor/judge", echo_judge)

    result = await fuse(
        "Q?",
        panel=["vendor/narrow"],
        judge="vendor/judge",
        max_tool_calls=1,
        max_completion_tokens=500,
    )

    assert result.status == "ok", result
    last = llm_env.requests_for("vendor/narrow")[-1]
    (page,) = last.tool_results
    assert "characters trimmed to fit the model's context window" in page
    assert page.lstrip().startswith("lorem ipsum") or "lorem ipsum" in page[:500]
    assert len(last.text) <= (3_000 - 500) * 4


# -- pure rules --------------------------------------------------------------------


def call(cost: float | None) -> CallUsage:
    return CallUsage(model="m", prompt_tokens=1, completion_tokens=1, cost_usd=cost)


def test_spent_share_splits_budget_over_panel_and_judge() -> None:
    context = Context(budget_usd=0.9)
    assert budget_share(0.9, 2) == pytest.approx(0.3)
    assert not spent_share_reached([call(0.1), call(None)], context, 2)
    assert spent_share_reached([call(0.1), call(0.2)], context, 2)
    assert not spent_share_reached([call(99.0)], dataclasses.replace(context, budget_usd=None), 2)


def test_fit_tool_results_cuts_the_longest_first_and_keeps_heads() -> None:
    messages = [
        SystemMessage("s"),
        HumanMessage("question"),
        ToolMessage("a" * 400, tool_call_id="1"),
        ToolMessage("b" * 8_000, tool_call_id="2"),
    ]
    assert fit_tool_results(messages, 10_000) == messages
    fitted = fit_tool_results(messages, 1_000)
    assert message_tokens(fitted) <= 1_000
    assert fitted[2].text == "a" * 400  # short enough to keep whole
    assert fitted[3].text.startswith("b" * 1_000)
    assert "characters trimmed" in fitted[3].text

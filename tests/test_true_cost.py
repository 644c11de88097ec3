"""Cost is true or unknown: prices apply only at the provider they belong to, unknown
is null (never 0), and `fusion eval` still draws its picture without prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion import fuse
from fusion.cli.main import main
from fusion.core.settings import load_settings
from fusion.core.usage import has_price
from fusion.eval.plot import dollars
from tests.fixtures.eval_scripts import answers_right_on, majority_judge, write_tasks
from tests.fixtures.llm_replies import Error, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

BUDGET = load_settings().presets["budget"]


async def test_preset_models_behind_a_custom_base_url_have_no_price(
    llm_env: ScriptedLLMServer,
) -> None:
    for model in BUDGET.panel:
        llm_env.script(model, Text("a local draft", prompt_tokens=900, completion_tokens=300))
    llm_env.script(BUDGET.judge, echo_judge)

    result = await fuse("Q?", preset="budget", web=False)

    assert result.status == "ok", result
    assert result.usage.cost_usd is None  # not OpenRouter's list prices
    assert result.usage.cost_complete is False
    assert all(r.cost_usd is None for r in result.responses)
    assert result.usage.completion_tokens >= 3 * 300  # tokens are still counted


def test_shipped_prices_are_openrouters_and_apply_only_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    model = BUDGET.judge
    monkeypatch.delenv("FUSION_BASE_URL", raising=False)
    assert has_price(model, settings)  # served by OpenRouter: its list price
    monkeypatch.setenv("FUSION_BASE_URL", "http://127.0.0.1:9/v1")
    assert not has_price(model, settings)


async def test_a_config_price_applies_behind_a_custom_base_url(
    llm_env: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[models."vendor/local"]\ninput_per_million = 1.0\noutput_per_million = 2.0\n'
        '[models."vendor/judge"]\ninput_per_million = 1.0\noutput_per_million = 2.0\n'
    )
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    llm_env.script("vendor/local", Text("draft", prompt_tokens=1000, completion_tokens=500))
    llm_env.script("vendor/judge", echo_judge)
    result = await fuse("Q?", panel=["vendor/local"], judge="vendor/judge", web=False)

    assert result.responses[0].cost_usd == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    assert result.usage.cost_complete is True


async def test_a_run_whose_judge_failed_has_an_unknown_cost_not_zero(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/judge", lambda r: Error(400, "no"))
    result = await fuse("Q?", panel=["vendor/a"], judge="vendor/judge", web=False)

    assert result.status == "failed"
    assert result.usage.cost_usd is None and result.usage.cost_complete is False


def test_eval_draws_its_picture_when_costs_are_unknown(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_env.script("vendor/good", answers_right_on("vendor/good", range(3), cost=None))  # no cost
    llm_env.script("vendor/bad", answers_right_on("vendor/bad", {0}, cost=None))
    llm_env.script("vendor/judge", majority_judge)
    tasks = write_tasks(tmp_path / "tasks.jsonl", 3)
    out = tmp_path / "out"
    args = ["eval", str(tasks), "--out", str(out), "--no-web"]
    panel = "fusion:panel=vendor/good,vendor/bad;judge=vendor/judge"
    for config in ("good=solo:vendor/good", panel):
        args += ["--config", config]

    assert main(args) == 0

    from matplotlib.image import imread

    png = out / "report.png"
    assert png.stat().st_size > 10_000
    height, width = imread(str(png)).shape[:2]
    assert width > 300 and height > 300
    assert "![score against cost per task](report.png)" in (out / "report.md").read_text()


def test_small_costs_are_labelled_legibly() -> None:
    assert dollars(0.00003) == "$0.00003"
    assert dollars(0.000012345) == "$0.000012"
    assert dollars(0.0123) == "$0.012"
    assert dollars(2.5) == "$2.50"
    assert dollars(0) == "$0"

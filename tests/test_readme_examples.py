"""The README's examples and figures, checked against the code: the llama.cpp and
Ollama set-ups run (against the scripted server standing in for each, with no key),
the estimate figures are what `fusion estimate` says, and every node of the graph's
drawing is explained."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from fusion.core.settings import load_settings
from fusion.graph import graph
from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import ChatRequest, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, responses_in

README = (Path(__file__).parent.parent / "README.md").read_text()
LOCAL = README.split("## Local models and self-hosted search", 1)[1].split("\n## ", 1)[0]


def local_model(name: str):  # type: ignore[no-untyped-def]
    """A local model that drafts when asked the question and judges when shown drafts."""

    def handler(request: ChatRequest) -> Text | Structured:
        if responses_in(request):
            return echo_judge(request)
        return Text(f"{name} says: Rayleigh scattering.")

    return handler


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


@pytest.fixture
def env(llm_env: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    dropped = ("OPENROUTER_API_KEY", "FUSION_API_KEY", "FUSION_BASE_URL", "FUSION_CONFIG")
    run_env = {k: v for k, v in os.environ.items() if k not in dropped}
    run_env["HOME"] = str(tmp_path)
    run_env["FUSION_DB"] = str(tmp_path / "runs.sqlite")
    return run_env


def test_the_llama_cpp_example_runs_with_no_key(
    llm_env: ScriptedLLMServer, env: dict[str, str]
) -> None:
    line = next(x for x in code_blocks(LOCAL, "bash")[0].splitlines() if "fusion ask" in x)
    words = shlex.split(line)
    assignment, command = words[0], words[1:]
    name, _ = assignment.split("=", 1)
    assert name == "FUSION_BASE_URL" and command[:2] == ["fusion", "ask"]
    assert "--panel" not in command and "--judge" not in command  # the defaults, no config
    preset = load_settings().preset("quality")
    for model in {*preset.panel, preset.judge, preset.fallback_judge or preset.judge}:
        llm_env.script(model, local_model(model))

    proc = fusion_here(*command[1:], env={**env, name: llm_env.base_url})

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Fused answer:")
    assert llm_env.requests and all("authorization" not in r.headers for r in llm_env.requests)
    assert "cost unknown" in proc.stderr


def test_the_ollama_example_runs_with_no_key(
    llm_env: ScriptedLLMServer, env: dict[str, str], tmp_path: Path
) -> None:
    (toml,) = code_blocks(LOCAL, "toml")
    config = tmp_path / "config.toml"
    config.write_text(toml.replace("http://127.0.0.1:11434/v1", llm_env.base_url))
    models = re.findall(r'\[models\."([^"]+)"\]', toml)
    for model in models:
        llm_env.script(model, local_model(model))
    line = next(x for x in code_blocks(LOCAL, "bash")[1].splitlines() if "fusion ask" in x)
    command = shlex.split(line)

    proc = fusion_here(*command[1:], env={**env, "FUSION_CONFIG": str(config)})

    assert proc.returncode == 0, proc.stderr
    assert {r.model for r in llm_env.requests} == set(models)
    assert all("authorization" not in r.headers for r in llm_env.requests)


def test_the_estimate_figures_are_the_code_s(env: dict[str, str]) -> None:
    sentence = re.search(r"the shipped prices give: (.*?)\(`tests/", README, re.S)
    assert sentence, "the README's estimate sentence moved"
    shown = re.findall(r"\$(\d+\.\d+) to \$(\d+\.\d+)", sentence.group(1))
    prompt = "x" * 1000
    computed = []
    for args in (
        ["--preset", "quality"],
        ["--preset", "quality", "--no-web"],
        ["--preset", "budget"],
    ):
        proc = fusion_here("estimate", prompt, *args, "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        figures = json.loads(proc.stdout)
        computed.append((figures["low_usd"], figures["high_usd"]))
    assert len(shown) == len(computed)
    for (low, high), (low_usd, high_usd) in zip(shown, computed, strict=True):
        assert float(low) == pytest.approx(low_usd, rel=0.01, abs=0.0005)
        assert float(high) == pytest.approx(high_usd, rel=0.01, abs=0.0005)


def test_every_node_of_the_drawing_is_explained() -> None:
    drawn = graph.get_graph(xray=True)
    for node in drawn.nodes.values():
        name = node.name.split(":")[-1]
        if name in ("__start__", "__end__"):
            continue
        assert f"`{name}`" in README, f"the README does not explain the drawn node {name}"

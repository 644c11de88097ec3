"""Local servers that need no key (llama.cpp, Ollama): a provider behind
`FUSION_BASE_URL` or the config file gets no `Authorization` header when no key is
configured; a key that is configured is sent. And `.env.example` sets nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dotenv.main import DotEnv

from fusion import fuse
from fusion.core.errors import SetupError
from fusion.core.providers import NO_KEY
from tests.fixtures.cli import fusion_here
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

REPO = Path(__file__).resolve().parent.parent


def script(llm: ScriptedLLMServer) -> None:
    llm.script("local/a", Text("alpha draft"))
    llm.script("local/judge", echo_judge)


async def test_fusion_base_url_without_a_key_sends_no_authorization(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUSION_API_KEY")
    script(llm_env)

    result = await fuse("Q?", panel=["local/a"], judge="local/judge", web=False)

    assert result.status == "ok"
    assert llm_env.requests  # drafts and the judge
    for request in llm_env.requests:
        assert "authorization" not in request.headers
        assert NO_KEY not in str(request.headers)


async def test_a_configured_key_is_sent(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_API_KEY", "sk-local-test")
    llm_env.require_api_key = "sk-local-test"  # anything else is a 401
    script(llm_env)

    result = await fuse("Q?", panel=["local/a"], judge="local/judge", web=False)

    assert result.status == "ok"
    assert {r.headers["authorization"] for r in llm_env.requests} == {"Bearer sk-local-test"}


async def test_a_config_provider_without_api_key_env_sends_no_authorization(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[providers.llamacpp]\nbase_url = "{llm_env.base_url}"\n\n'
        '[models."local/a"]\nprovider = "llamacpp"\n\n'
        '[models."local/judge"]\nprovider = "llamacpp"\n'
    )
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    monkeypatch.delenv("FUSION_BASE_URL")
    monkeypatch.delenv("FUSION_API_KEY")
    script(llm_env)

    result = await fuse("Q?", panel=["local/a"], judge="local/judge", web=False)

    assert result.status == "ok"
    assert all("authorization" not in r.headers for r in llm_env.requests)


def keyed_provider_for(
    model: str, llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A config file sending `model` to a provider whose key (`OLLAMA_API_KEY`) is unset."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[providers.ollama]\nbase_url = "{llm.base_url}"\napi_key_env = "OLLAMA_API_KEY"\n'
        f'\n[models."{model}"]\nprovider = "ollama"\n'
    )
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


async def test_a_config_provider_naming_a_key_variable_still_needs_it(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keyed_provider_for("local/a", llm_env, monkeypatch, tmp_path)

    with pytest.raises(SetupError, match="set OLLAMA_API_KEY"):
        await fuse("Q?", panel=["local/a"], judge="local/a", web=False)
    assert llm_env.requests == []


async def test_a_fallback_judge_without_its_key_is_refused_before_any_call(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fallback judge is part of the plan: its missing key is bad input up front,
    not a judge failure after the whole panel was paid for."""
    keyed_provider_for("local/backup", llm_env, monkeypatch, tmp_path)
    script(llm_env)
    judges = {"judge": "local/judge", "fallback_judge": "local/backup"}

    with pytest.raises(SetupError, match="local/backup: set OLLAMA_API_KEY"):
        await fuse("Q?", panel=["local/a"], web=False, **judges)
    cli = ["ask", "Q?", "--panel", "local/a", "--no-web", "--json"]
    cli += ["--judge", judges["judge"], "--fallback-judge", judges["fallback_judge"]]
    env = dict(os.environ) | {"HOME": str(tmp_path), "FUSION_DB": str(tmp_path / "r.sqlite")}
    refused = fusion_here(*cli, env=env)
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"]["type"] == "setup_error"
    assert "set OLLAMA_API_KEY" in refused.stderr
    assert llm_env.requests == []


def test_env_example_sets_nothing_so_shell_values_win() -> None:
    """`langgraph dev` loads `.env` over the shell's environment: a copied example
    with `TAVILY_API_KEY=` would blank the shell's key. Every key is commented out."""
    loaded = DotEnv(dotenv_path=REPO / ".env.example").dict()
    assert loaded == {}
    text = (REPO / ".env.example").read_text()
    for name in ("OPENROUTER_API_KEY", "TAVILY_API_KEY", "FUSION_BASE_URL", "FUSION_API_KEY"):
        assert f"# {name}=" in text

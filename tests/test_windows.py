"""Context windows per model: the config file, else what the provider reports
(vLLM's `/v1/models`, llama.cpp's `/props`), else the default; all over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fusion.core.settings import DEFAULT_CONTEXT_WINDOW, load_settings
from fusion.core.windows import forget_windows, learn_windows, window
from tests.fixtures.llm_server import ScriptedLLMServer


@pytest.fixture(autouse=True)
def fresh_windows() -> Iterator[None]:
    forget_windows()
    yield
    forget_windows()


async def test_a_window_the_provider_lists_is_used(llm_env: ScriptedLLMServer) -> None:
    llm_env.windows = {"vendor/listed": 32_768}
    settings = load_settings()
    assert window("vendor/listed", settings) == DEFAULT_CONTEXT_WINDOW  # nothing asked yet

    await learn_windows(["vendor/listed", "vendor/other"], settings)

    assert window("vendor/listed", settings) == 32_768
    assert window("vendor/other", settings) == DEFAULT_CONTEXT_WINDOW


async def test_llama_cpp_props_give_the_slot_window(llm_env: ScriptedLLMServer) -> None:
    llm_env.n_ctx = 2048
    settings = load_settings()
    await learn_windows(["local-model"], settings)
    assert window("local-model", settings) == 2048


async def test_the_config_file_wins_and_is_not_asked_about(
    llm_env: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[models."vendor/set"]\ncontext_window = 8000\n')
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    llm_env.windows = {"vendor/set": 32_768}
    settings = load_settings()
    await learn_windows(["vendor/set"], settings)
    assert window("vendor/set", settings) == 8000


async def test_a_provider_that_reports_nothing_leaves_the_default(
    llm_env: ScriptedLLMServer,
) -> None:
    settings = load_settings()
    await learn_windows(["vendor/quiet"], settings)  # /v1/models without sizes, no /props
    assert window("vendor/quiet", settings) == DEFAULT_CONTEXT_WINDOW

"""User configuration: presets, per-model providers and prices, from TOML files.

The shipped `presets.toml` is read first; the user's file (`FUSION_CONFIG`, else
`~/.config/fusion/config.toml`) is layered on top, so a user can add presets,
route a model to another provider, or price a model. Files are read once per
process (per path), never inside a running node, so the event loop never waits
on the disk.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fusion.core.context import JudgeMethod, SearchProvider
from fusion.core.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("~/.config/fusion/config.toml")
DEFAULT_CONTEXT_WINDOW = 128_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderSpec(_Strict):
    """An OpenAI-compatible endpoint and the env variable holding its key."""

    base_url: str
    api_key_env: str | None = Field(
        default=None, description="Env variable with the key; none for keyless servers."
    )
    openrouter_usage: bool = Field(
        default=False, description="Ask for OpenRouter's usage accounting (usage.cost)."
    )
    judge_method: JudgeMethod | None = Field(
        default=None,
        description="How judges served here are asked for structured output; unset: what "
        "the server supports (see fusion.core.capabilities), else function_calling.",
    )


class ModelSpec(_Strict):
    """What Fusion knows about one model: where it lives and what it costs."""

    provider: str | None = None
    input_per_million: float | None = None
    output_per_million: float | None = None
    price_provider: str | None = Field(
        default=None,
        description="The provider whose list prices these are (`openrouter` for the shipped "
        "ones): they apply only when the model is served there. Unset: wherever it is served.",
    )
    context_window: int | None = Field(
        default=None,
        description="Tokens the model's context holds; unset: what its provider reports, "
        "else 128,000 (see fusion.core.windows).",
    )
    judge_method: JudgeMethod | None = None
    judge_single_call: bool = Field(
        default=True,
        description="The judge's analysis and answer in one streamed structured call; "
        "false for providers that cannot stream structured output or ignore a forced "
        "tool choice (llama.cpp's server): two calls, analysis then answer.",
    )


class Preset(_Strict):
    """A named panel with its judge."""

    description: str = ""
    panel: list[str]
    judge: str
    fallback_judge: str | None = None


class Settings(_Strict):
    """Everything the config files say, merged."""

    default_preset: str = "quality"
    fetch_allow_private: bool = False
    search_provider: SearchProvider = Field(
        default="tavily",
        description="The web search backend of runs that name none: tavily or searxng.",
    )
    presets: dict[str, Preset] = Field(default_factory=dict)
    providers: dict[str, ProviderSpec] = Field(default_factory=dict)
    models: dict[str, ModelSpec] = Field(default_factory=dict)

    def model_spec(self, model_id: str) -> ModelSpec:
        return self.models.get(model_id) or ModelSpec()

    def preset(self, name: str) -> Preset:
        try:
            return self.presets[name]
        except KeyError:
            known = ", ".join(sorted(self.presets)) or "none"
            raise ConfigError(
                f"unknown preset {name!r}: choose one of {known} (or define it in your config file)"
            ) from None


def config_path() -> Path:
    """The user config file in force: `FUSION_CONFIG`, else the default path."""
    return Path(os.environ.get("FUSION_CONFIG") or DEFAULT_CONFIG_PATH).expanduser()


_LOADED: dict[str, Settings] = {}


def load_settings() -> Settings:
    """Shipped presets merged with the user's config file (cached per path)."""
    path = str(config_path())
    settings = _LOADED.get(path)
    if settings is None:
        settings = _LOADED[path] = _load(path)
    return settings


async def load_settings_async() -> Settings:
    """`load_settings` for nodes and tools: a first load reads files, which must not
    happen on the event loop (LangGraph server flags blocking calls there)."""
    cached = _LOADED.get(str(config_path()))
    return cached if cached is not None else await asyncio.to_thread(load_settings)


def _load(path: str) -> Settings:
    shipped = tomllib.loads(resources.files("fusion.core").joinpath("presets.toml").read_text())
    merged = _merge(shipped, _read_user_file(Path(path)))
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config file {path}: {where}: {first['msg']}") from None


def _read_user_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        if os.environ.get("FUSION_CONFIG"):
            raise ConfigError(f"FUSION_CONFIG points at {path}, which is not a file")
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Table-wise merge: the user's entries add to or replace the shipped ones."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out

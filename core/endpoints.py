"""Which OpenAI-compatible endpoint serves a model, and its key: no SDK loaded here,
so the CLI checks keys before its heavy imports.

Resolution order for a model ID: a provider named for it in the config file (its
`api_key_env`, if it names one, must be set; none means a keyless server); else
`FUSION_BASE_URL` for every model, with `FUSION_API_KEY` when set (local servers such
as llama.cpp or Ollama need none); else OpenRouter with `OPENROUTER_API_KEY`. Keys are
read from the environment at call time and never stored in state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fusion.core.errors import SetupError
from fusion.core.redact import note_secret
from fusion.core.settings import Settings

__all__ = ["OPENROUTER_BASE_URL", "Endpoint", "check_credentials", "endpoint_for", "provider_name"]

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"


@dataclass(frozen=True)
class Endpoint:
    """Where a model's calls go; `api_key_env` names the variable holding the key,
    which `key_required` says must be set (else calls carry no key)."""

    name: str
    base_url: str
    api_key_env: str | None
    openrouter_usage: bool = False
    key_required: bool = True

    def api_key(self, model_id: str) -> str | None:
        """The key to send, or None to send none; `SetupError` when it is required
        and missing."""
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            if not self.key_required:
                return None
            raise SetupError(
                f"no API key for {model_id}: set {self.api_key_env} "
                f"(provider {self.name}, {self.base_url})"
            )
        note_secret(key)  # whatever its variable is called, no message will show it
        return key


def provider_name(model_id: str, settings: Settings) -> str:
    """The name of the provider that serves `model_id`: its config entry's provider,
    else `FUSION_BASE_URL`, else `openrouter` (no key is read, nothing raises)."""
    named = settings.model_spec(model_id).provider
    if named is not None:
        return named
    return "FUSION_BASE_URL" if os.environ.get("FUSION_BASE_URL") else "openrouter"


def endpoint_for(model_id: str, settings: Settings) -> Endpoint:
    """The endpoint that serves `model_id` under the current settings and environment."""
    provider_name = settings.model_spec(model_id).provider
    if provider_name is not None:
        spec = settings.providers.get(provider_name)
        if spec is None:
            raise SetupError(
                f"model {model_id} names provider {provider_name!r}, which is not in "
                "[providers] of your config file"
            )
        return Endpoint(provider_name, spec.base_url, spec.api_key_env, spec.openrouter_usage)
    base_url = os.environ.get("FUSION_BASE_URL")
    if base_url:
        return Endpoint("FUSION_BASE_URL", base_url, "FUSION_API_KEY", key_required=False)
    return Endpoint("openrouter", OPENROUTER_BASE_URL, "OPENROUTER_API_KEY", True)


def check_credentials(models: list[str], settings: Settings) -> None:
    """Fail before any call when a model's provider needs a key the environment lacks."""
    for model_id in dict.fromkeys(models):
        endpoint_for(model_id, settings).api_key(model_id)

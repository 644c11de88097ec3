"""How many tokens a model's context window holds.

In order: the model's `context_window` in the config file; else what its provider
reports (OpenRouter's and vLLM's `/models` list: `context_length`, `max_model_len`;
llama.cpp's `/props`: the per-slot `n_ctx`); else `DEFAULT_CONTEXT_WINDOW`. Provider
reports are fetched once per endpoint and process, off the hot path (`learn_windows`,
awaited by the nodes), and never block: a provider that does not answer in a few
seconds, or reports nothing, leaves the default. `window()` itself does no I/O, so
preflight checks can use it.
"""

from __future__ import annotations

from typing import Any

import httpx

from fusion.core.capabilities import get_json
from fusion.core.endpoints import Endpoint, endpoint_for
from fusion.core.loop_locks import LoopLocks
from fusion.core.settings import DEFAULT_CONTEXT_WINDOW, Settings

LOOKUP_TIMEOUT_S = 5.0
WINDOW_KEYS = ("context_length", "max_model_len", "context_window", "n_ctx")

_REPORTED: dict[str, dict[str, int]] = {}
"""base URL -> model ID -> window, as the provider reported it ("" = any model)."""
_LOCKS = LoopLocks()


def window(model_id: str, settings: Settings) -> int:
    """The model's window from what is known now: config, provider report, default."""
    configured = settings.model_spec(model_id).context_window
    if configured is not None:
        return configured
    try:
        base_url = endpoint_for(model_id, settings).base_url
    except Exception:  # a missing provider is reported elsewhere, with its fix
        return DEFAULT_CONTEXT_WINDOW
    reported = _REPORTED.get(base_url, {})
    return reported.get(model_id) or reported.get("") or DEFAULT_CONTEXT_WINDOW


async def learn_windows(models: list[str], settings: Settings) -> None:
    """Ask the providers of models with no configured window what theirs are (once
    per endpoint and process); failures leave the default."""
    for model_id in dict.fromkeys(models):
        if settings.model_spec(model_id).context_window is not None:
            continue
        try:
            endpoint = endpoint_for(model_id, settings)
            key = endpoint.api_key(model_id)
        except Exception:
            continue
        lock = _LOCKS.get(endpoint.base_url)
        async with lock:
            if endpoint.base_url not in _REPORTED:
                _REPORTED[endpoint.base_url] = await _ask(endpoint, key)


async def _ask(endpoint: Endpoint, key: str | None) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    base = endpoint.base_url.rstrip("/")
    found: dict[str, int] = {}
    try:
        async with httpx.AsyncClient(timeout=LOOKUP_TIMEOUT_S, headers=headers) as client:
            listed = await get_json(client, f"{base}/models")
            for item in listed.get("data") or [] if isinstance(listed, dict) else []:
                size = _size(item)
                if isinstance(item, dict) and size:
                    found[str(item.get("id"))] = size
            if not found:  # llama.cpp: one model, its slots' window in /props
                props = await get_json(client, f"{base.removesuffix('/v1')}/props")
                settings = props.get("default_generation_settings") if props else None
                size = _size(settings) or _size(props)
                if size:
                    found[""] = size
    except (httpx.HTTPError, ValueError):
        pass
    return found


def _size(item: Any) -> int | None:
    """The window an entry reports, under any of the names providers use."""
    if not isinstance(item, dict):
        return None
    for key in WINDOW_KEYS:
        value = item.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def forget_windows() -> None:
    """Drop what providers reported (tests; a server whose model changed)."""
    _REPORTED.clear()

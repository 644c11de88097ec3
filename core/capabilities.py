"""What a provider's server supports for the judge, and the judge method that follows.

The judge needs structured output. `function_calling` (a forced, named tool call) is
the most widely supported way, but not everywhere: llama.cpp's `llama-server` and
Ollama do not honour a named `tool_choice` (llama.cpp refuses the object form or
writes prose), while both constrain `response_format` `json_schema`. So, per provider
endpoint, Fusion knows three facts: `named_tool_choice`, `json_schema`,
`stream_usage` (whether a stream ends with a usage chunk).

Where they come from, once per endpoint and process, off the hot path:
- the server's own report: llama.cpp answers `GET /props`, Ollama `GET /api/version`,
  vLLM `GET /version` (a few seconds at most; a server that says nothing is
  `unknown`, with no facts);
- what a run learned: a forced tool call answered in prose is remembered
  (`remember_prose_tool_call`), so later judges on that endpoint go straight to
  `json_schema`.

The judge method in force is, in order: the run's `judge_method`; the model's entry
in the config file; its provider's entry; what the endpoint's facts allow; else
`function_calling`. `judge_method_for` does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx

from fusion.core.context import JudgeMethod
from fusion.core.loop_locks import LoopLocks
from fusion.core.providers import OPENROUTER_BASE_URL, endpoint_for
from fusion.core.settings import Settings

PROBE_TIMEOUT_S = 3.0

ServerKind = Literal["openrouter", "llama.cpp", "ollama", "vllm", "unknown"]


@dataclass(frozen=True)
class Capabilities:
    """What one endpoint supports; None where nothing is known."""

    server: ServerKind = "unknown"
    named_tool_choice: bool | None = None
    json_schema: bool | None = None
    stream_usage: bool | None = None

    @property
    def judge_method(self) -> JudgeMethod | None:
        """The method these facts call for, or None to keep the default."""
        if self.named_tool_choice is False:
            return "json_schema" if self.json_schema is not False else "json_mode"
        return None


KNOWN: dict[ServerKind, Capabilities] = {
    "openrouter": Capabilities("openrouter", True, True, True),
    "llama.cpp": Capabilities("llama.cpp", False, True, True),
    "ollama": Capabilities("ollama", False, True, True),
    "vllm": Capabilities("vllm", True, True, True),
    "unknown": Capabilities(),
}
"""What each kind of server is known to support (its documentation, and for
llama.cpp the real server in tests/test_llama_server.py)."""

_FOUND: dict[str, Capabilities] = {}
"""base URL -> what its server supports."""
_LOCKS = LoopLocks()


def capabilities(base_url: str) -> Capabilities:
    """What is known now about the endpoint at `base_url` (no I/O)."""
    if base_url.rstrip("/") == OPENROUTER_BASE_URL:
        return _FOUND.get(base_url, KNOWN["openrouter"])
    return _FOUND.get(base_url, KNOWN["unknown"])


def judge_method_for(
    model_id: str, settings: Settings, chosen: JudgeMethod | None = None
) -> tuple[JudgeMethod, str]:
    """The judge method for `model_id` and where it came from (for events and errors):
    `chosen` (the run's), the model's or provider's config entry, the server, else
    the default."""
    if chosen is not None:
        return chosen, "run"
    spec = settings.model_spec(model_id)
    if spec.judge_method is not None:
        return spec.judge_method, "model config"
    if spec.provider is not None:
        provider = settings.providers.get(spec.provider)
        if provider is not None and provider.judge_method is not None:
            return provider.judge_method, "provider config"
    try:
        base_url = endpoint_for(model_id, settings).base_url
    except Exception:  # a missing provider is reported elsewhere, with its fix
        return "function_calling", "default"
    found = capabilities(base_url)
    if found.judge_method is not None:
        return found.judge_method, f"{found.server} server"
    return "function_calling", "default"


async def learn_capabilities(models: list[str], settings: Settings) -> None:
    """Ask the servers of `models` what they are (once per endpoint and process)."""
    for model_id in dict.fromkeys(models):
        try:
            endpoint = endpoint_for(model_id, settings)
            key = endpoint.api_key(model_id)
        except Exception:
            continue
        if endpoint.base_url.rstrip("/") == OPENROUTER_BASE_URL:
            continue
        lock = _LOCKS.get(endpoint.base_url)
        async with lock:
            if endpoint.base_url not in _FOUND:
                headers = {"Authorization": f"Bearer {key}"} if endpoint.api_key_env else {}
                _FOUND[endpoint.base_url] = await _probe(endpoint.base_url, headers)


def remember_prose_tool_call(model_id: str, settings: Settings) -> None:
    """A forced tool call came back as prose: the endpoint ignores named tool choice."""
    try:
        base_url = endpoint_for(model_id, settings).base_url
    except Exception:
        return
    _FOUND[base_url] = replace(capabilities(base_url), named_tool_choice=False)


def forget_capabilities() -> None:
    """Drop what servers reported and runs learned (tests; a server that changed)."""
    _FOUND.clear()


async def _probe(base_url: str, headers: dict[str, str]) -> Capabilities:
    origin = base_url.rstrip("/").removesuffix("/v1")
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, headers=headers) as client:
            props = await get_json(client, f"{origin}/props")
            if "default_generation_settings" in props or "build_info" in props:
                return KNOWN["llama.cpp"]
            ollama = await get_json(client, f"{origin}/api/version")
            if isinstance(ollama.get("version"), str):
                return KNOWN["ollama"]
            vllm = await get_json(client, f"{origin}/version")
            if isinstance(vllm.get("version"), str):
                return KNOWN["vllm"]
    except (httpx.HTTPError, ValueError):
        pass
    return KNOWN["unknown"]


async def get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """A server's JSON object at `url`, or {} for anything else (an error, a page)."""
    try:
        response = await client.get(url)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}

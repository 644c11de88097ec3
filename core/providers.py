"""The chat model that calls a model's OpenAI-compatible endpoint.

Which endpoint and key serve a model is `fusion.core.endpoints`; keys are read from
the environment at call time and never stored in state, so a resumed run uses the
current environment. An endpoint with no key gets no `Authorization` header.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from fusion.core.endpoints import (
    OPENROUTER_BASE_URL,
    Endpoint,
    check_credentials,
    endpoint_for,
    provider_name,
)
from fusion.core.settings import Settings

# their home is fusion.core.endpoints (no SDK loaded); named here for older imports
__all__ = [
    "OPENROUTER_BASE_URL",
    "RECURSION_HEADER",
    "Endpoint",
    "chat_model",
    "check_credentials",
    "endpoint_for",
    "provider_name",
]

RECURSION_HEADER = "X-Fusion-Depth"
DEFAULT_REQUEST_TIMEOUT_S = 300.0
DEFAULT_MAX_RETRIES = 2
_REQUEST_OPTIONS = {
    "extra_headers": "headers",
    "extra_query": "params",
    "extra_body": "extra_json",
    "timeout": "timeout",
}
"""Keys of LangChain's payload that `create()` turns into request options."""
NO_KEY = "fusion-no-key"
"""What the OpenAI SDK is given for a keyless endpoint (it insists on a key); the
request hook below drops its header, so no `Authorization` is sent at all."""


async def _drop_placeholder_key(request: httpx.Request) -> None:
    if request.headers.get("Authorization") == f"Bearer {NO_KEY}":
        del request.headers["Authorization"]


_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _async_client(base_url: str) -> httpx.AsyncClient | None:
    """One pooled HTTP client per endpoint and event loop.

    langchain-openai caches its default client per base URL for the whole process,
    so a second `asyncio.run(fuse(...))` would reuse a client bound to a closed loop.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    clients = _CLIENTS.setdefault(loop, {})
    client = clients.get(base_url)
    if client is None:
        timeout = httpx.Timeout(DEFAULT_REQUEST_TIMEOUT_S, connect=10.0)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        client = clients[base_url] = httpx.AsyncClient(
            timeout=timeout,
            limits=limits,
            event_hooks={"request": [_drop_placeholder_key]},
        )
    return client


class CostAwareChatOpenAI(ChatOpenAI):
    """ChatOpenAI that keeps the provider's reported cost when it streams, and sends
    whole replies through the SDK's plain `post` (see `_agenerate`).

    langchain-openai reads token counts from a stream's final usage chunk but drops
    the rest of it, OpenRouter's `usage.cost` included; non-streamed replies keep the
    whole usage dict under `response_metadata["token_usage"]`. This puts the usage
    chunk there too, so `fusion.core.usage.reported_cost` reads both the same way.
    The method is langchain-openai's private one: the version is bounded in
    pyproject.toml and tests/test_private_hooks.py fails if a release stops calling it.
    """

    def _convert_chunk_to_generation_chunk(
        self,
        chunk: dict[str, Any],
        default_chunk_class: type,
        base_generation_info: dict[str, Any] | None,
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        usage = chunk.get("usage")
        if generation is not None and isinstance(usage, dict) and "cost" in usage:
            generation.message.response_metadata["token_usage"] = dict(usage)
        return generation

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """A whole (non-streamed) reply through the SDK's plain `post`.

        `chat.completions.create()` converts LangChain's already plain payload
        against the SDK's TypedDicts on the way out, builds pydantic models from the
        reply, and LangChain dumps them back to a dict (in a worker thread): about
        1.5 ms CPU a call, the larger part of a panelist's. `post()` is the same
        client (retries, timeouts, auth, the SDK's typed errors) without the
        conversions; the reply goes to LangChain's own result builder as a dict.
        Structured replies (`response_format`) keep the SDK's path."""
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        if "response_format" in payload or payload.get("stream") or self.include_response_headers:
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        options: dict[str, Any] = {}  # what create() makes of its request arguments
        for key, option in _REQUEST_OPTIONS.items():
            if (value := payload.pop(key, None)) is not None:
                options[option] = value
        # The SDK's own errors, as create() raises them (`core.failures` reads those)
        reply = await self.root_async_client.post(
            "/chat/completions", body=payload, cast_to=httpx.Response, options=options
        )
        try:
            parsed: Any = json.loads(reply.content)
        except ValueError:
            parsed = reply.text  # LangChain's builder refuses it, as after create()
        return self._create_chat_result(parsed)


def chat_model(
    model_id: str,
    settings: Settings,
    *,
    temperature: float | None = None,
    max_completion_tokens: int | None = None,
    stream: bool = False,
) -> ChatOpenAI:
    """A chat model bound to the model's endpoint.

    Calls are whole replies unless `stream` is set; only the judge's answer streams
    (to LangGraph's `messages` mode), so panelists' tokens never reach a client.
    Retries are left to the OpenAI SDK: it retries connection errors, timeouts,
    408/409/429 and 5xx with backoff and honours `Retry-After`, and never
    retries 400/401/402/403/404, which is the policy Fusion wants.
    """
    endpoint = endpoint_for(model_id, settings)
    api_key = endpoint.api_key(model_id)
    key = (model_id, endpoint, api_key, temperature, max_completion_tokens, stream)
    models = _models_of_this_loop()
    model = models.get(key) if models is not None else None
    if model is None:
        model = _new_chat_model(
            model_id, endpoint, api_key, temperature, max_completion_tokens, stream
        )
        if models is not None:
            if len(models) >= MAX_CACHED_MODELS:
                models.clear()
            models[key] = model
    return model


MAX_CACHED_MODELS = 256
_MODELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, ChatOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def _models_of_this_loop() -> dict[Any, ChatOpenAI] | None:
    """Built chat models, per event loop like their HTTP clients: building one takes
    1.6 ms, and a run builds several. None outside a running loop."""
    try:
        return _MODELS.setdefault(asyncio.get_running_loop(), {})
    except RuntimeError:
        return None


def _new_chat_model(
    model_id: str,
    endpoint: Endpoint,
    api_key: str | None,
    temperature: float | None,
    max_completion_tokens: int | None,
    stream: bool,
) -> ChatOpenAI:
    extra_body = {"usage": {"include": True}} if endpoint.openrouter_usage else None
    return CostAwareChatOpenAI(
        model=model_id,
        base_url=endpoint.base_url,
        api_key=api_key or NO_KEY,  # type: ignore[arg-type]
        use_responses_api=False,
        temperature=temperature,
        max_completion_tokens=max_completion_tokens,
        timeout=DEFAULT_REQUEST_TIMEOUT_S,
        max_retries=DEFAULT_MAX_RETRIES,
        stream_usage=True,
        disable_streaming=not stream,
        extra_body=extra_body,
        default_headers={RECURSION_HEADER: "1"},
        http_async_client=_async_client(endpoint.base_url),
    )

"""A chat-completion request turned into a run: the `Context` and the conversation.

Every refusal happens here, before the response starts and before any model is
called, so it can carry its proper status: 400 for what the caller can fix, 503
for what only the server's operator can (a provider key or the config file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from fusion.api import make_context, preflight
from fusion.core.context import Context
from fusion.core.errors import ConfigError, SetupError
from fusion.core.settings import Settings, load_settings
from fusion.serve.errors import NO_RETRY, ApiError
from fusion.serve.schemas import ChatCompletionRequest, ChatMessage
from fusion.serve.wording import for_api

MODEL = "fusion"
T = TypeVar("T")


@dataclass(frozen=True)
class RunRequest:
    """What the endpoint needs to run and answer one request."""

    model: str
    context: Context
    messages: list[BaseMessage]
    stream: bool
    include_usage: bool


def model_ids(settings: Settings) -> list[str]:
    """`fusion` (the default preset) and `fusion/<preset>` for each preset."""
    return [MODEL, *(f"{MODEL}/{name}" for name in sorted(settings.presets))]


def run_request(body: ChatCompletionRequest) -> RunRequest:
    """Validate the request and build its run, or raise `ApiError`."""
    _refuse_unsupported(body)
    settings = server_settings()
    options = body.fusion.model_dump(exclude_none=True) if body.fusion else {}
    options["preset"] = _preset(body.model, options.get("preset"), settings)
    options.setdefault("temperature", body.temperature)
    options.setdefault("max_completion_tokens", body.max_completion_tokens or body.max_tokens)
    messages = to_messages(body.messages)
    system = [m.text for m in messages if isinstance(m, SystemMessage) and m.text.strip()]
    if system:  # the caller's system prompt says how to answer: the panel and judge follow it
        options.setdefault("instructions", "\n\n".join(system))
    context = _bad_request(lambda: make_context(**options))
    _bad_request(lambda: preflight(context, None, messages))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return RunRequest(body.model, context, messages, body.stream, include_usage)


def server_settings() -> Settings:
    """The config files; a broken one is the operator's problem (503)."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise ApiError(503, str(exc), code="server_misconfigured", headers=NO_RETRY) from None


def to_messages(messages: list[ChatMessage]) -> list[BaseMessage]:
    """OpenAI messages as LangChain ones; tool turns are dropped (the panel never sees
    a caller's tools), and the conversation must hold a question."""
    out: list[BaseMessage] = []
    for index, message in enumerate(messages):
        text = _text(message, index)
        if message.role == "user":
            out.append(HumanMessage(text))
        elif message.role == "assistant":
            out.append(AIMessage(text))
        elif message.role in ("system", "developer"):
            out.append(SystemMessage(text))
    if not any(isinstance(m, HumanMessage) and m.text.strip() for m in out):
        raise ApiError(
            400,
            "the conversation has no user message: send at least one message with "
            'role "user" and the question as its content',
            code="empty_conversation",
            param="messages",
        )
    return out


def _text(message: ChatMessage, index: int) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    for part in message.content:
        if part.type != "text":
            raise ApiError(
                400,
                f"content parts of type {part.type!r} are not supported: send text only",
                code="unsupported_content",
                param=f"messages.{index}.content",
            )
    return "".join(part.text or "" for part in message.content)


def _preset(model: str, option: str | None, settings: Settings) -> str | None:
    """The preset a model name asks for: `fusion` is the default (or `fusion.preset`)."""
    name, _, preset = model.partition("/")
    if name != MODEL or (preset == "" and model != MODEL):
        raise _unknown_model(model, settings)
    if not preset:
        return option
    if preset not in settings.presets:
        raise _unknown_model(model, settings)
    if option is not None and option != preset:
        raise ApiError(
            400,
            f"model {model!r} and fusion.preset {option!r} disagree: give the preset once",
            code="invalid_option",
            param="fusion.preset",
        )
    return preset


def _unknown_model(model: str, settings: Settings) -> ApiError:
    return ApiError(
        400,
        f"unknown model {model!r}: choose one of {', '.join(model_ids(settings))} "
        "(see GET /v1/models)",
        code="model_not_found",
        param="model",
    )


def _refuse_unsupported(body: ChatCompletionRequest) -> None:
    """Fields whose silent loss would mislead the caller are refused, not ignored."""
    if body.n is not None and body.n != 1:
        raise ApiError(
            400,
            "n must be 1: Fusion returns one fused answer",
            code="unsupported_parameter",
            param="n",
        )
    if body.tools or body.functions:
        field = "tools" if body.tools else "functions"
        raise ApiError(
            400,
            f"{field} are not supported: the panel uses its own web tools only",
            code="unsupported_parameter",
            param=field,
        )
    kind = (body.response_format or {}).get("type", "text")
    if kind != "text":
        raise ApiError(
            400,
            f"response_format {kind!r} is not supported: the answer is plain text",
            code="unsupported_parameter",
            param="response_format",
        )


def _bad_request(build: Callable[[], T]) -> T:
    """`build()`, its refusal as 400, or 503 when what is missing is the operator's to
    fix (a provider or search key, a provider in the config file)."""
    try:
        return build()
    except SetupError as exc:
        raise ApiError(
            503, for_api(str(exc)), code="server_not_configured", headers=NO_RETRY
        ) from None
    except ConfigError as exc:
        raise ApiError(400, for_api(str(exc)), code="invalid_request") from None

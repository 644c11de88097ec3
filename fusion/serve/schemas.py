"""The wire shapes: OpenAI chat-completion requests, completions and chunks.

Requests accept the OpenAI fields Fusion can honour and ignore the rest, except a
few whose silent loss would mislead the caller (see `fusion.serve.options`). Fusion's
own options travel in the `fusion` object, which official clients send through
`extra_body`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from fusion.core.context import Context
from fusion.core.options import option_fields
from fusion.result import Analysis, FailedModelOut, ResponseOut


def _options_model() -> type[BaseModel]:
    """The `fusion` object of a request: one optional key per `Context` field offered
    to serve (`fusion.core.context`), typed like the field. Unknown names are refused,
    so a typo is a 400 naming the option instead of a silently ignored setting; ranges
    are `Context`'s own checks, so every interface gives the same refusal."""
    hints = get_type_hints(Context)
    fields: dict[str, Any] = {
        f.name: (hints[f.name] | None, Field(None, description=f.metadata["description"]))
        for f in option_fields("serve")
    }
    return create_model(
        "FusionOptions",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Fusion's options for this request: `fusion.Context` fields, by name.",
        **fields,
    )


if TYPE_CHECKING:

    class FusionOptions(BaseModel):
        """Typed for mypy as a plain model; built from `Context` at import."""

else:
    FusionOptions = _options_model()


class ContentPart(BaseModel):
    """One part of a message's content; only text parts carry anything Fusion reads."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`; unlisted OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    response_format: dict[str, Any] | None = None
    fusion: FusionOptions | None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class FusionMetadata(BaseModel):
    """What the panel did, beside the answer: the same data as `fusion ask --json`."""

    status: Literal["ok", "degraded", "failed"]
    analysis: Analysis | None = None
    responses: list[ResponseOut] = Field(default_factory=list)
    failed_models: list[FailedModelOut] = Field(default_factory=list)
    failure_reason: str | None = None
    failure_message: str | None = None
    answer_truncated: bool = False
    cost_usd: float | None = None
    cost_complete: bool = True
    thread_id: str | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    fusion: FusionMetadata


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "fusion"
    description: str = ""


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]

"""Graph state: what goes in, what comes out, and what the panel carries between.

State holds plain JSON-shaped dicts (not pydantic objects) so every checkpointer
and the LangGraph server can store and show it; `fusion.result.FusionResult` is
the typed public view of the same data.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

RunStatus = Literal["ok", "degraded", "failed"]
ResponseStatus = Literal["ok", "failed", "timeout"]


class Source(TypedDict):
    """A web page a panelist found (search) or read (fetch)."""

    url: str
    title: str
    via: Literal["search", "fetch"]


class CallUsage(TypedDict):
    """Tokens and dollars of one model call; `cost_usd` is None when unknown."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


class Usage(TypedDict):
    """Tokens and dollars summed over calls; `cost_complete` is False when a call had no price."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float | None
    cost_complete: bool


class Response(TypedDict):
    """One panelist's outcome: its draft, or why there is none."""

    model: str
    status: ResponseStatus
    text: str
    sources: list[Source]
    usage: Usage
    cost_usd: float | None
    seconds: float
    tool_calls: int
    tool_errors: list[str]


class FailedModel(TypedDict):
    """A model that gave no usable output, with a typed reason and the provider's words."""

    model: str
    reason: str
    message: str


class InputState(TypedDict, total=False):
    """What a caller sends: a `prompt`, or a `messages` conversation (its last human
    message is the question, earlier turns are context)."""

    prompt: str
    messages: Annotated[list[AnyMessage], add_messages]


class OutputState(TypedDict, total=False):
    """What a run returns; `messages` gains the answer as an AI message when the
    input was a conversation, so the graph drops into a `MessagesState` parent."""

    status: RunStatus
    answer: str | None
    analysis: dict[str, Any] | None
    responses: Annotated[list[Response], operator.add]
    failed_models: Annotated[list[FailedModel], operator.add]
    failure_reason: str | None
    usage: Usage
    messages: Annotated[list[AnyMessage], add_messages]


class FusionState(InputState, OutputState, total=False):
    """The whole run's state: input, output, and the resolved plan."""

    question: str
    panel: list[str]
    judge_model: str
    judge_labels: dict[str, str]
    judge_calls: Annotated[list[CallUsage], operator.add]
    rerun: list[str]
    deadline_s: float | None


class PanelistInput(TypedDict):
    """What fan_out sends to one panelist branch."""

    model: str
    conversation: list[AnyMessage]


class PanelistState(TypedDict):
    """One panelist's tool loop, checkpointed inside its own subgraph namespace."""

    model: str
    conversation: list[AnyMessage]
    messages: Annotated[list[AnyMessage], add_messages]
    calls: Annotated[list[CallUsage], operator.add]
    started_at: NotRequired[float]
    error: NotRequired[FailedModel]
    responses: Annotated[list[Response], operator.add]
    failed_models: Annotated[list[FailedModel], operator.add]


class PanelistOutput(TypedDict):
    """Only these keys flow back to the parent: a panelist's messages stay its own."""

    responses: Annotated[list[Response], operator.add]
    failed_models: Annotated[list[FailedModel], operator.add]

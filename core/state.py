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
from pydantic import Field
from typing_extensions import TypedDict

from fusion.core.context import JudgeMethod
from fusion.core.failures import ModelFailure, RunFailure

RunStatus = Literal["ok", "degraded", "failed"]
ResponseStatus = Literal["ok", "failed", "timeout"]
# How the judge worked: one streamed structured call (analysis, then answer), two
# calls (analysis, then answer: the fallback), or the answer-first order.
JudgeMode = Literal["single_call", "two_calls", "answer_first"]


class Source(TypedDict):
    """A web page a panelist found (search) or read (fetch)."""

    url: Annotated[str, Field(description="The page's address.")]
    title: Annotated[str, Field(description="The page's title, when known.")]
    via: Annotated[
        Literal["search", "fetch"],
        Field(description="`search` if only seen in results, `fetch` if the panelist read it."),
    ]


class CallUsage(TypedDict):
    """Tokens and dollars of one model call; `cost_usd` is None when unknown."""

    model: Annotated[str, Field(description="The model called.")]
    prompt_tokens: Annotated[int, Field(description="Input tokens of the call.")]
    completion_tokens: Annotated[int, Field(description="Output tokens of the call.")]
    cost_usd: Annotated[float | None, Field(description="Its dollars; null if unknown.")]
    finish_reason: NotRequired[
        Annotated[
            str | None,
            Field(description="Why the model stopped: stop, length (cut off), tool_calls..."),
        ]
    ]
    seconds: NotRequired[Annotated[float, Field(description="The call's own duration.")]]


class Usage(TypedDict):
    """Tokens and dollars summed over calls; `cost_complete` is False when a call had no price."""

    prompt_tokens: Annotated[int, Field(description="Input tokens over every call.")]
    completion_tokens: Annotated[int, Field(description="Output tokens over every call.")]
    total_tokens: Annotated[int, Field(description="prompt_tokens + completion_tokens.")]
    cost_usd: Annotated[
        float | None, Field(description="Dollars: provider-reported, else priced; null if unknown.")
    ]
    cost_complete: Annotated[
        bool, Field(description="False when some call's cost is unknown (not in cost_usd).")
    ]


class Response(TypedDict):
    """One panelist's outcome: its draft, or why there is none."""

    model: Annotated[str, Field(description="The panelist's model ID.")]
    status: Annotated[ResponseStatus, Field(description="ok, failed, or timeout (deadline).")]
    text: Annotated[str, Field(description="The draft (empty when the panelist failed).")]
    sources: Annotated[list[Source], Field(description="Pages it found or read.")]
    usage: Annotated[Usage, Field(description="Tokens and dollars of its calls.")]
    cost_usd: Annotated[float | None, Field(description="Its dollars; null if unknown.")]
    seconds: Annotated[float, Field(description="Wall time of its branch.")]
    tool_calls: Annotated[int, Field(description="Web tool calls it made.")]
    tool_errors: Annotated[list[str], Field(description="Tool calls that failed, and why.")]
    truncated: NotRequired[
        Annotated[bool, Field(description="True when the draft was cut at its token limit.")]
    ]


class FailedModel(TypedDict):
    """A model that gave no usable output, with a typed reason and the provider's words."""

    model: Annotated[str, Field(description="The model ID.")]
    reason: Annotated[
        ModelFailure, Field(description="Typed reason: timeout, rate_limited, unauthorized, ...")
    ]
    message: Annotated[str, Field(description="The provider's own words.")]


class InputState(TypedDict, total=False):
    """What a caller sends: a `prompt`, or a `messages` conversation (its last human
    message is the question, earlier turns are context)."""

    prompt: Annotated[str, Field(description="The question to put to the panel.")]
    messages: Annotated[
        list[AnyMessage],
        Field(description="A conversation instead of a prompt; its last human message is asked."),
        add_messages,
    ]


class OutputState(TypedDict, total=False):
    """What a run returns; `messages` gains the answer as an AI message when the
    input was a conversation, so the graph drops into a `MessagesState` parent."""

    status: Annotated[
        RunStatus,
        Field(description="ok; degraded (some panelist or the analysis missing); failed."),
    ]
    answer: Annotated[str | None, Field(description="The judge's answer, in Markdown.")]
    analysis: Annotated[
        dict[str, Any] | None,
        Field(
            description="consensus, contradictions (stances by model), partial_coverage, "
            "unique_insights, blind_spots."
        ),
    ]
    responses: Annotated[
        list[Response], Field(description="Every panelist's draft and usage."), operator.add
    ]
    failed_models: Annotated[
        list[FailedModel], Field(description="Models that gave no usable output."), operator.add
    ]
    failure_reason: Annotated[
        RunFailure | None, Field(description="Why the answer or analysis is missing, when it is.")
    ]
    failure_message: Annotated[
        str | None,
        Field(description="The judge's failure in the provider's own words (secrets redacted)."),
    ]
    answer_truncated: Annotated[
        bool, Field(description="True when the answer was cut at the judge's token limit.")
    ]
    usage: Annotated[Usage, Field(description="Tokens and dollars of the whole run.")]
    judge_mode: Annotated[
        JudgeMode | None,
        Field(
            description="How the judge whose answer is used worked: single_call (analysis "
            "then answer in one streamed call), two_calls (the fallback) or answer_first."
        ),
    ]
    judge_method: Annotated[
        JudgeMethod | None,
        Field(
            description="How the judge whose answer is used was asked for structured "
            "output: function_calling, json_schema (also after a provider ignored a forced "
            "tool call) or json_mode."
        ),
    ]
    rejudge_of: Annotated[
        str | None,
        Field(description="The thread whose drafts this run re-judged (`fusion rejudge`)."),
    ]
    messages: Annotated[
        list[AnyMessage],
        Field(description="The input conversation plus the answer as an AI message."),
        add_messages,
    ]


class FusionState(InputState, OutputState, total=False):
    """The whole run's state: input, output, and the resolved plan."""

    question: Annotated[str, Field(description="The question, read from the input.")]
    panel: Annotated[list[str], Field(description="The resolved panel (model IDs).")]
    judge_model: Annotated[str, Field(description="The resolved judge.")]
    research: Annotated[
        Research | None,
        Field(description="The sources `research = prefetch` gave every panelist."),
    ]
    judge_labels: Annotated[
        dict[str, str], Field(description="Response letter the judge saw -> model ID.")
    ]
    judge_calls: Annotated[
        list[CallUsage], Field(description="Every paid judge call."), operator.add
    ]
    judge_answer: Annotated[
        dict[str, str] | None,
        Field(
            description="The judge's answer as written (text, message id, finish_reason), "
            "so a resumed "
            "run can add a missing analysis without paying for the answer again."
        ),
    ]
    rerun: Annotated[
        list[str], Field(description="Panelists a resumed run calls again (the failed ones).")
    ]
    deadline_s: Annotated[float | None, Field(description="The panel's deadline, if any.")]


class ResearchPage(TypedDict):
    """A page Fusion read for the whole panel (`research` `prefetch`)."""

    url: str
    title: str
    text: Annotated[str, Field(description="The page's text as the panelists read it.")]


class Research(TypedDict):
    """What `research = "prefetch"` gathered once for every panelist: one search for
    the question and the top pages it found, read in full."""

    query: str
    results: Annotated[list[dict[str, str]], Field(description="The search's results.")]
    pages: list[ResearchPage]
    error: Annotated[str | None, Field(description="Why the search failed, if it did.")]


class PanelistInput(TypedDict):
    """What fan_out sends to one panelist branch."""

    model: str
    conversation: list[AnyMessage]
    research: NotRequired[Research]


class PanelistState(TypedDict):
    """One panelist's tool loop, checkpointed inside its own subgraph namespace."""

    model: str
    conversation: list[AnyMessage]
    research: NotRequired[Research]
    messages: Annotated[list[AnyMessage], add_messages]
    calls: Annotated[list[CallUsage], operator.add]
    started_at: NotRequired[float]
    active_s: NotRequired[float]
    mark: NotRequired[float]
    life: NotRequired[str]
    error: NotRequired[FailedModel]
    responses: Annotated[list[Response], operator.add]
    failed_models: Annotated[list[FailedModel], operator.add]


class PanelistOutput(TypedDict):
    """Only these keys flow back to the parent: a panelist's messages stay its own."""

    responses: Annotated[list[Response], operator.add]
    failed_models: Annotated[list[FailedModel], operator.add]

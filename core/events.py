"""Progress events, sent on LangGraph's `custom` stream mode.

Every event is a flat JSON dict with an `event` name and the panelist's `model`
where one applies; each shape is a `TypedDict` below, and `ProgressEvent` is their
union. The CLI's live view, `fusion serve` and Studio all read these same shapes,
and a test checks the README's event table against them.

The judge's answer itself streams in LangGraph's `messages` mode: its chunks come
from node `judge` with the tag `fusion:answer` (`ANSWER_TAG`). Panelists' calls are
not streamed, and the judge's structured output is hidden from that mode: when the
judge writes its analysis and answer in one call, only the answer's text is streamed
(parsed out of the partial JSON), so a client filtering on that tag (or on the node)
gets the answer's Markdown tokens and nothing else.
If the judge fails and the fallback judge takes over, `judge_started` comes again
before the fallback's tokens.
"""

from __future__ import annotations

from typing import Literal, NotRequired, get_args, get_type_hints

from langgraph.config import get_stream_writer
from typing_extensions import TypedDict

from fusion.core.context import JudgeMethod
from fusion.core.failures import JudgeFailure, JudgeFallbackReason, ModelFailure

ANSWER_TAG = "fusion:answer"

ANSWER_RESTARTS = frozenset({"judge_started", "judge_retry", "judge_fallback"})
"""Events after which answer tokens, if any come, are a fresh answer that supersedes
those streamed before: a fallback judge, the verdict asked for again, or the two-call
fallback. (A fallback judge given an earlier answer only adds the analysis: no new
answer tokens come, and the earlier answer stands.)"""


class StreamedAnswer:
    """The judge's answer as streamed so far, read the way `ANSWER_RESTARTS` says:
    after a restart the earlier text stays until a new token replaces it, so a
    fallback judge that only adds the analysis never blanks the answer shown."""

    def __init__(self) -> None:
        self.text = ""
        self._restart = False

    def on_event(self, event: str | None) -> None:
        if event in ANSWER_RESTARTS:
            self._restart = True

    def add(self, chunk: str) -> bool:
        """Append one streamed piece; True when it began a new answer."""
        restarted, self._restart = self._restart, False
        self.text = chunk if restarted else self.text + chunk
        return restarted


ToolName = Literal["web_search", "web_fetch"]


class PanelistStarted(TypedDict):
    """A panelist's first model call begins."""

    event: Literal["panelist_started"]
    model: str


class ToolCall(TypedDict):
    """A panelist asks for a tool: `query` for web_search, `url` for web_fetch."""

    event: Literal["tool_call"]
    model: str
    tool: ToolName
    query: NotRequired[str]
    url: NotRequired[str]


class ToolResult(TypedDict):
    """A tool call's result reached the panelist: its size, and whether it failed."""

    event: Literal["tool_result"]
    model: str
    tool: ToolName
    chars: int
    error: bool


class DraftDone(TypedDict):
    """A panelist's draft is written."""

    event: Literal["draft_done"]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    seconds: float
    tool_calls: int
    truncated: bool
    """Cut at its completion-token limit."""


class PanelistFailed(TypedDict):
    """A panelist gave no draft: its typed reason and the provider's words."""

    event: Literal["panelist_failed"]
    model: str
    reason: ModelFailure
    message: str


class ResearchDone(TypedDict):
    """`research = prefetch`: the one search for the question, and the pages read for
    every panelist (`error` says why the search failed; the panel goes on without)."""

    event: Literal["research_done"]
    query: str
    results: int
    pages: list[str]
    """The URLs read."""
    error: str | None


class JudgeStarted(TypedDict):
    """A judge (or the fallback judge) starts on the drafts."""

    event: Literal["judge_started"]
    model: str
    drafts: int
    method: JudgeMethod
    """How it is asked for structured output (`judge_method`)."""


class JudgeDone(TypedDict):
    """A judge finished: `ok`, or why its answer or analysis is missing."""

    event: Literal["judge_done"]
    model: str
    status: Literal["ok"] | JudgeFailure


class JudgeInputTrimmed(TypedDict):
    """The longest drafts' tails were cut to fit the judge's context window (each
    draft says so to the judge)."""

    event: Literal["judge_input_trimmed"]
    model: str
    drafts: int
    """How many drafts were cut."""
    window: int


class JudgeFallback(TypedDict):
    """The judge's single call was not usable as such (a provider that ignores a
    forced tool choice, or a verdict cut before its answer), so it goes on in two
    calls: analysis, then answer."""

    event: Literal["judge_fallback"]
    model: str
    reason: JudgeFallbackReason
    mode: Literal["two_calls"]
    method: JudgeMethod
    """The method it goes on with (`json_schema` after a tool choice was ignored)."""


class JudgeRetry(TypedDict):
    """The judge's verdict is asked for once more; answer tokens it streamed before
    are superseded."""

    event: Literal["judge_retry"]
    model: str
    reason: JudgeFailure | None


ProgressEvent = (
    PanelistStarted
    | ToolCall
    | ToolResult
    | DraftDone
    | PanelistFailed
    | ResearchDone
    | JudgeStarted
    | JudgeDone
    | JudgeInputTrimmed
    | JudgeFallback
    | JudgeRetry
)

EVENT_TYPES: dict[str, type] = {
    get_args(get_type_hints(kind)["event"])[0]: kind for kind in get_args(ProgressEvent)
}
"""Each event's name -> its TypedDict."""


def emit(event: ProgressEvent) -> None:
    """Send one progress event; a no-op outside a streaming run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of helpers)
        return
    writer(event)

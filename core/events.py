"""Progress events, sent on LangGraph's `custom` stream mode.

Every event is a flat JSON dict with an `event` name and the panelist's `model`
where one applies. The CLI's live view, `fusion serve` and Studio all read these
same shapes:

- `panelist_started`  {model}
- `tool_call`         {model, tool: "web_search"|"web_fetch", query | url}
- `tool_result`       {model, tool, chars, error: bool}
- `draft_done`        {model, prompt_tokens, completion_tokens, cost_usd, seconds, tool_calls,
                      truncated: bool (cut at its token limit)}
- `panelist_failed`   {model, reason, message}
- `judge_started`     {model, drafts}
- `judge_done`        {model, status}
- `judge_input_trimmed` {model, drafts, window}: the longest drafts' tails were cut
  to fit the judge's context window (each says so to the judge)
- `judge_fallback`    {model, reason: "tool_choice_ignored" | "judge_truncated",
  mode: "two_calls"}: the judge's single call was not usable as such (a provider that
  ignores forced tools, or a verdict cut before its answer), so it goes on in two calls
- `judge_retry`       {model, reason}: the judge's verdict is asked for once more
  (answer tokens it streamed before are superseded)

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

from typing import Any

from langgraph.config import get_stream_writer

ANSWER_TAG = "fusion:answer"


def emit(event: str, **fields: Any) -> None:
    """Send one progress event; a no-op outside a streaming run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of helpers)
        return
    writer({"event": event, **fields})

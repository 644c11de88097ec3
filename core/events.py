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

The judge's answer itself streams in LangGraph's `messages` mode: its chunks come
from node `judge` with the tag `fusion:answer` (`ANSWER_TAG`). Panelists' calls are
not streamed, and the judge's analysis call is hidden from that mode, so a client
filtering on that tag (or on the node) gets the answer's tokens and nothing else.
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

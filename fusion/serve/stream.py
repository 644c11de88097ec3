"""`stream: true`: server-sent `chat.completion.chunk` events as the judge writes.

Order: a role chunk at once (so the client sees the response start), panel progress
as SSE comment lines (`: draft_done vendor/a ...`, ignored by OpenAI clients), the
judge's answer as content deltas, a chunk with `finish_reason` and the `fusion`
metadata, a usage chunk (with `fusion` again) when `stream_options.include_usage` is
set, then `[DONE]`.
A run that fails after the response started ends with an OpenAI-shaped error event.
If the judge is asked again after part of its answer went out, a Markdown note says
the answer below replaces it (`fusion.serve.sent`): a stream cannot take content back.
If the client disconnects, sse-starlette cancels this generator, and with it the run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from langgraph.types import Checkpointer
from sse_starlette import EventSourceResponse, ServerSentEvent

from fusion.api import run_input, stream_run
from fusion.core.errors import ConfigError
from fusion.result import FusionResult
from fusion.serve.cancel import detached
from fusion.serve.completion import completion_id
from fusion.serve.errors import ApiError, internal_error
from fusion.serve.options import RunRequest
from fusion.serve.outcome import failure, finish_reason, metadata, usage
from fusion.serve.public import public
from fusion.serve.sent import SentAnswer
from fusion.serve.wording import for_api

log = logging.getLogger("fusion.serve")
COMMENT_LIMIT = 300


def stream_response(
    run: RunRequest, saver: Checkpointer, thread_id: str, headers: dict[str, str]
) -> EventSourceResponse:
    # sep "\n" is what OpenAI sends; a ping comment every 15 s keeps proxies from
    # closing the connection while the panel searches and drafts.
    return EventSourceResponse(chunks(run, saver, thread_id), sep="\n", headers=headers)


async def chunks(
    run: RunRequest, saver: Checkpointer, thread_id: str
) -> AsyncIterator[ServerSentEvent]:
    created = int(time.time())

    def chunk(
        delta: dict[str, str] | None = None, finish: str | None = None, **extra: Any
    ) -> ServerSentEvent:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return _data(
            {
                "id": completion_id(thread_id),
                "object": "chat.completion.chunk",
                "created": created,
                "model": run.model,
                "choices": choices,
                **extra,
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    sent = SentAnswer()
    final: dict[str, Any] = {}
    try:
        events = stream_run(
            run_input(None, run.messages), run.context, saver, thread_id, runner="fusion serve"
        )
        async for kind, data in detached(events):
            if kind == "answer":
                for piece in sent.token(data):
                    yield chunk({"content": piece})
            elif kind == "custom":
                sent.on_event(data.get("event"))
                yield ServerSentEvent(comment=progress_line(data), sep="\n")
            elif kind == "values":
                final = data
    except ConfigError as exc:
        yield _error(ApiError(400, for_api(str(exc)), code="invalid_request"))
        return
    except Exception:
        log.exception("run %s failed while streaming", thread_id)
        yield _error(internal_error(thread_id))
        return
    result = FusionResult.from_state(final, thread_id)
    if result.status == "failed" or not result.answer:
        yield _error(failure(result))
        return
    for piece in sent.rest(result.answer):
        yield chunk({"content": piece})
    fusion = metadata(result).model_dump(mode="json")
    yield chunk({}, finish_reason(result), fusion=fusion)
    if run.include_usage:  # the last chunk carries `fusion` too, for clients that read only it
        yield chunk(usage=usage(result).model_dump(), fusion=fusion)
    yield ServerSentEvent(data="[DONE]", sep="\n")


def progress_line(event: dict[str, Any]) -> str:
    """One comment line per progress event: `panelist_started vendor/a`, then fields."""
    fields = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("event", "model"))
    line = f"{event.get('event')} {event.get('model', '')} {fields}".strip()
    return " ".join(public(line).split())[:COMMENT_LIMIT]


def _data(payload: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(payload, separators=(",", ":")), sep="\n")


def _error(error: ApiError) -> ServerSentEvent:
    return _data(error.body())

"""`stream: false`: run the panel to the end and answer one `chat.completion`.

A client that hangs up cancels the run's outstanding model calls instead of paying
for an answer nobody reads (`fusion.serve.cancel`); what finished before that stays
in the run's checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Checkpointer

from fusion.api import collect, run_input, stream_run
from fusion.result import FusionResult
from fusion.resume import prepare_resume
from fusion.serve.cancel import until_disconnect
from fusion.serve.options import RunRequest
from fusion.serve.outcome import failure, finish_reason, metadata, usage
from fusion.serve.schemas import AssistantMessage, ChatCompletion, Choice

CLIENT_CLOSED = 499  # nginx's status for "client closed the request"; nobody reads it


async def complete(
    request: Request,
    run: RunRequest,
    saver: Checkpointer,
    thread_id: str,
    *,
    resume: bool = False,
    on_left: Callable[[], object] = lambda: None,
) -> Response:
    """The run's answer; with `resume`, `thread_id` is a run an earlier attempt of this
    request left (`fusion.serve.retries`), continued without paying again for what it
    finished. `on_left` is called when the client leaves before the answer."""
    if resume and isinstance(saver, BaseCheckpointSaver):
        resumption = await prepare_resume(saver, thread_id)
        if resumption.plan is None:  # it had finished after all
            return answer(run, FusionResult.from_state(resumption.finished or {}, thread_id))
        payload, context = None, resumption.context
    else:
        payload, context = run_input(None, run.messages), run.context
    # Nobody reads progress or the answer's tokens here: the graph runs without stream
    # handlers and the judge's answer comes as one whole reply.
    events = stream_run(payload, context, saver, thread_id, progress=False, runner="fusion serve")
    result = await until_disconnect(request, collect(events, thread_id))
    if result is None:
        on_left()
        return Response(status_code=CLIENT_CLOSED)
    return answer(run, result)


def answer(run: RunRequest, result: FusionResult) -> Response:
    """The whole `chat.completion`, or the OpenAI-shaped error of a run with no answer."""
    thread_id = result.thread_id or ""
    if result.status == "failed" or not result.answer:
        raise failure(result)
    completion = ChatCompletion(
        id=completion_id(thread_id),
        created=int(time.time()),
        model=run.model,
        choices=[
            Choice(
                message=AssistantMessage(content=result.answer),
                finish_reason=finish_reason(result),
            )
        ],
        usage=usage(result),
        fusion=metadata(result),
    )
    return JSONResponse(completion.model_dump(mode="json"))


def completion_id(thread_id: str) -> str:
    """The thread ID is in the completion's ID, so a client log leads to the run."""
    return f"chatcmpl-{thread_id}"

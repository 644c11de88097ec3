"""The endpoints: `GET /v1/models` and `POST /v1/chat/completions`.

Errors are turned into the OpenAI shape by the routes' own class, not by app-wide
exception handlers, so that mounting this app into LangGraph server (whose app
takes over ours, handlers included) leaves the platform's own errors alone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from fusion.checkpoints import Checkpoints
from fusion.core.errors import ConfigError, RunBusy
from fusion.serve.completion import complete
from fusion.serve.errors import ApiError, internal_error, validation_error
from fusion.serve.guards import refuse_nested, require_key
from fusion.serve.limits import checked_request
from fusion.serve.options import model_ids, run_request, server_settings
from fusion.serve.retries import LeftRuns, request_key
from fusion.serve.schemas import ChatCompletion, ChatCompletionRequest, ModelCard, ModelList
from fusion.serve.stream import stream_response
from fusion.serve.wording import for_api

log = logging.getLogger("fusion.serve")
THREAD_HEADER = "X-Fusion-Thread-Id"


class OpenAIRoute(APIRoute):
    """A route whose every error, expected or not, answers in the OpenAI shape, and
    that checks the key, the body's size and its JSON before FastAPI reads it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(await checked_request(request))
            except ApiError as exc:
                return exc.response()
            except RequestValidationError as exc:
                return validation_error(list(exc.errors())).response()
            except ConfigError as exc:  # a check inside the run, after ours passed
                return ApiError(400, for_api(str(exc)), code="invalid_request").response()
            except HTTPException as exc:  # FastAPI's own refusals (e.g. an unparsable body)
                return ApiError(exc.status_code, str(exc.detail), code="invalid_request").response()
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return internal_error().response()

        return handle


def build_router(checkpoints: Checkpoints) -> APIRouter:
    router = APIRouter(prefix="/v1", route_class=OpenAIRoute, dependencies=[Depends(require_key)])
    left_runs = LeftRuns()

    @router.get("/models", response_model=ModelList)
    async def list_models() -> ModelList:
        """`fusion` (the default preset) and `fusion/<preset>` for every preset."""
        settings = server_settings()
        default = settings.default_preset
        cards = [ModelCard(id="fusion", description=f"the default preset, {default}")]
        for model_id in model_ids(settings)[1:]:
            preset = settings.presets[model_id.removeprefix("fusion/")]
            cards.append(ModelCard(id=model_id, description=preset.description))
        return ModelList(data=cards)

    @router.post(
        "/chat/completions",
        response_model=ChatCompletion,
        dependencies=[Depends(refuse_nested)],
    )
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
        """One fused answer; `stream: true` for server-sent chunks. A retry of a whole
        answer whose client left resumes that run (`fusion.serve.retries`)."""
        run = run_request(body)
        saver = await checkpoints.saver()
        if run.stream:
            thread_id = str(uuid.uuid4())
            return stream_response(run, saver, thread_id, {THREAD_HEADER: thread_id})
        key = request_key(request.headers, body.model_dump_json())
        resumed = left_runs.take(key) if saver is not None else None
        thread_id = resumed or str(uuid.uuid4())
        headers = {THREAD_HEADER: thread_id}
        try:
            response = await complete(
                request,
                run,
                saver,
                thread_id,
                resume=resumed is not None,
                on_left=lambda: left_runs.remember(key, thread_id),
            )
        except RunBusy as exc:  # the first attempt's run is still stopping: try again
            left_runs.remember(key, thread_id)
            raise ApiError(409, f"{exc}; send the request again", code="run_busy") from exc
        except ApiError as exc:
            exc.headers.update(headers)
            raise
        response.headers.update(headers)
        return response

    @router.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def unknown(path: str, request: Request) -> Response:
        raise ApiError(
            404,
            f"no route {request.method} /v1/{path}: Fusion serves GET /v1/models and "
            "POST /v1/chat/completions",
            code="unknown_url",
        )

    return router

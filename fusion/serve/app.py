"""The ASGI app: `create_app()` for `fusion serve`, and `app` for LangGraph server:
the OpenAI API under `/v1` and the web page (`fusion.web`) at `/`.

`langgraph.json` names `fusion.serve.app:app` under `http.app`, so one deployment
serves the LangGraph API and the OpenAI one side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fusion.checkpoints import Checkpoints
from fusion.core.errors import ConfigError
from fusion.core.settings import load_settings
from fusion.serve.errors import ApiError
from fusion.serve.limits import KeyFirst
from fusion.serve.routes import build_router
from fusion.web.live import LiveRuns
from fusion.web.routes import build_web_router


def create_app(db: str | None = None) -> FastAPI:
    """The OpenAI-compatible app; runs are checkpointed in `db` (else `FUSION_DB`,
    else the per-user default), opened on first use and closed at shutdown."""
    checkpoints = Checkpoints(db)
    live = LiveRuns()  # runs started from the web page

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # read the config files now, in a thread, not in the first request's handler
        with contextlib.suppress(ConfigError):  # a broken file is a 503 per request
            await asyncio.to_thread(load_settings)
        yield
        await live.close()
        await checkpoints.close()

    app = FastAPI(
        title="Fusion",
        summary="OpenAI-compatible chat completions answered by a judged panel of models.",
        lifespan=lifespan,
    )
    app.include_router(build_router(checkpoints))
    app.include_router(build_web_router(checkpoints, live))  # the web page, at /
    # the key before anything else, /docs and /openapi.json included (see limits.py)
    app.add_middleware(KeyFirst)
    # outside /v1 (an unknown path, a wrong method on /docs), errors in OpenAI's shape too
    app.add_exception_handler(StarletteHTTPException, _openai_shape)
    return app


async def _openai_shape(_request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "internal server error"
    return ApiError(status, str(detail), code="not_found" if status == 404 else None).response()


app = create_app()

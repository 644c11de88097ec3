"""The page's URLs. Everything that changes something is a POST from a same-origin
form; reading is GET. Paths stay clear of the LangGraph API's (`POST /runs`, ...)
so the app can be mounted into LangGraph server."""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sse_starlette import EventSourceResponse, ServerSentEvent

from fusion.checkpoints import Checkpoints
from fusion.core.errors import ConfigError, RunBusy
from fusion.core.settings import load_settings_async
from fusion.web import actions, auth, export, markdown, views
from fusion.web.form import advanced_changed, for_page, form_options
from fusion.web.live import LiveRuns
from fusion.web.pages import SECURITY_HEADERS, asset, fragment, page
from fusion.web.store import list_runs, load_run

log = logging.getLogger("fusion.web")
FORM_LIMIT = 256 * 1024
RECENT = 20


class Forbidden(Exception):
    pass


class FormTooLarge(Exception):
    """A form past `FORM_LIMIT`: 413 with the fix, from any page that takes a form."""


class WebRoute(APIRoute):
    """Login redirects, one-line errors and the security headers, for every page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except auth.LoginRequired:
                if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                    return RedirectResponse(auth.login_url(request), status_code=303)
                response = _error(401, "sign in first: this server asks for its key")
            except Forbidden as exc:
                response = _error(403, str(exc))
            except FormTooLarge as exc:
                response = _error(413, str(exc))
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            # the server's own time (reading the run, rendering the page): what the
            # bench measures, and what a browser's dev tools show beside the network's
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
            return response

        return handle


def _error(status: int, message: str) -> Response:
    return page("error.html", status=status, message=message, status_code=status)


def same_origin(request: Request) -> None:
    """Refuse a POST another site's page made (the server may have no key at all).
    Browsers say where a request comes from in `Sec-Fetch-Site`, older ones in
    `Origin`; a client that sends neither is not a browser page."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is not None:
        allowed = site in ("same-origin", "none")
    else:
        allowed = origin is None or urlsplit(origin).netloc == request.headers.get("host")
    if not allowed:
        raise Forbidden("refused: the form was sent from another site")


async def form_of(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise FormTooLarge(
            f"the form is over {FORM_LIMIT // 1024} KiB: shorten the prompt (a longer one "
            "can go through `fusion ask --prompt-file` or the OpenAI endpoint, up to 4 MiB)"
        )
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def can_rejudge() -> bool:
    return importlib.util.find_spec("fusion.rejudging") is not None


def build_web_router(checkpoints: Checkpoints, live: LiveRuns) -> APIRouter:
    signed = [Depends(auth.require_session)]
    posted = [Depends(auth.require_session), Depends(same_origin)]
    router = APIRouter(route_class=WebRoute, include_in_schema=False)

    async def home(
        form: dict[str, str] | None = None, error: str = "", status: int = 200
    ) -> Response:
        settings = await load_settings_async()
        runs = await list_runs(await checkpoints.saver(), limit=RECENT)
        return page(
            "index.html",
            status=status,
            presets=settings.presets,
            default_preset=settings.default_preset,
            form=form or {},
            options=form_options(),
            advanced_open=advanced_changed(form or {}),
            error=error,
            runs=runs,
            live=live,
            has_key=auth.server_key() is not None,
        )

    @router.get("/", dependencies=signed)
    async def index() -> Response:
        return await home()

    @router.post("/ask", dependencies=posted)
    async def ask(request: Request) -> Response:
        form = await form_of(request)
        try:
            thread_id = await actions.ask(live, await checkpoints.saver(), form)
        except ConfigError as exc:
            return await home(form, for_page(str(exc)), status=400)
        return RedirectResponse(f"/runs/{thread_id}", status_code=303)

    @router.post("/estimate", dependencies=posted)
    async def estimate(request: Request) -> Response:
        try:
            result = await actions.estimate(await form_of(request))
        except ConfigError as exc:
            return JSONResponse({"error": for_page(str(exc))}, status_code=400)
        return JSONResponse(
            {
                "low_usd": result.low_usd,
                "high_usd": result.high_usd,
                "unpriced_models": result.unpriced_models,
                "summary": result.range_text(),
            }
        )

    @router.get("/runs", dependencies=signed)
    async def history(q: str = "") -> Response:
        runs = await list_runs(await checkpoints.saver(), q)
        return page(
            "runs.html", runs=runs, query=q, live=live, has_key=auth.server_key() is not None
        )

    @router.get("/runs/{thread_id}", dependencies=signed)
    async def run_page(thread_id: str) -> Response:
        running = live.get(thread_id)
        if running is not None and not running.done:
            return page(
                "run.html", live_run=running, run=None, has_key=auth.server_key() is not None
            )
        try:
            run = await load_run(await checkpoints.saver(), thread_id)
        except ConfigError as exc:
            return _error(404, str(exc))
        return page("run.html", live_run=None, **_read_values(run))

    @router.get("/runs/{thread_id}/read", dependencies=signed)
    async def read(thread_id: str) -> Response:
        try:
            run = await load_run(await checkpoints.saver(), thread_id)
        except ConfigError as exc:
            return _error(404, str(exc))
        return Response(fragment("read.html", **_read_values(run)), media_type="text/html")

    @router.get("/runs/{thread_id}/events", dependencies=signed)
    async def events(thread_id: str) -> Response:
        running = live.get(thread_id)

        async def stream() -> Any:
            if running is None:
                yield ServerSentEvent(data=json.dumps({"status": "finished"}), event="done")
                return
            async for kind, data in running.follow():
                if kind == "answer":
                    data = {"html": str(markdown.render(data))}
                yield ServerSentEvent(data=json.dumps(data), event=kind)

        return EventSourceResponse(stream(), headers={"Cache-Control": "no-store"})

    @router.post("/runs/{thread_id}/resume", dependencies=posted)
    async def resume(thread_id: str) -> Response:
        try:
            await actions.resume(live, await checkpoints.saver(), thread_id)
        except RunBusy as exc:  # another runner (replica, `fusion resume`) holds it
            return _error(409, str(exc))
        except ConfigError as exc:
            return _error(400, for_page(str(exc)))
        return RedirectResponse(f"/runs/{thread_id}", status_code=303)

    @router.post("/runs/{thread_id}/rejudge", dependencies=posted)
    async def rejudge(thread_id: str) -> Response:
        try:
            new = await actions.rejudge(live, await checkpoints.saver(), thread_id)
        except ConfigError as exc:
            return _error(400, for_page(str(exc)))
        return RedirectResponse(f"/runs/{new}", status_code=303)

    @router.post("/runs/{thread_id}/follow-up", dependencies=posted)
    async def follow_up(thread_id: str, request: Request) -> Response:
        form = await form_of(request)
        try:
            new = await actions.follow_up(
                live, await checkpoints.saver(), thread_id, form.get("question", "")
            )
        except ConfigError as exc:
            return _error(400, for_page(str(exc)))
        return RedirectResponse(f"/runs/{new}", status_code=303)

    @router.get("/runs/{thread_id}/export.{kind}", dependencies=signed)
    async def export_run(thread_id: str, kind: str) -> Response:
        if kind not in ("md", "json"):
            return _error(404, f"no export as {kind!r}: use export.md or export.json")
        try:
            run = await load_run(await checkpoints.saver(), thread_id)
        except ConfigError as exc:
            return _error(404, str(exc))
        body = export.as_markdown(run) if kind == "md" else export.as_json(run)
        media = "text/markdown; charset=utf-8" if kind == "md" else "application/json"
        disposition = f'attachment; filename="fusion-{thread_id}.{kind}"'
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    @router.get("/login")
    async def login_form(next: str = "/") -> Response:
        return page("login.html", next=auth.safe_next(next), error="")

    @router.post("/login", dependencies=[Depends(same_origin)])
    async def login(request: Request) -> Response:
        form = await form_of(request)
        target = auth.safe_next(form.get("next"))
        if not auth.key_matches(form.get("key", "")):
            return page(
                "login.html", status=401, next=target, error="That key is not this server's key."
            )
        response = RedirectResponse(target, status_code=303)
        key = auth.server_key() or ""
        response.set_cookie(
            auth.COOKIE,
            auth.session_token(key),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout", dependencies=[Depends(same_origin)])
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.COOKIE)
        return response

    @router.get("/assets/{name}")
    async def static(name: str) -> Response:
        return asset(name)

    def _read_values(run: Any) -> dict[str, Any]:
        return {
            "run": run,
            "drafts": views.drafts(run),
            "anchors": views.anchors(run),
            "bars": views.bars(run),
            "bar_width": views.BAR_WIDTH,
            "can_rejudge": can_rejudge(),
            "has_key": auth.server_key() is not None,
        }

    return router

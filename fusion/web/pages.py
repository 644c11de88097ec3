"""Rendering: the Jinja2 templates, the page's security headers, its static files."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape

from fusion.web import markdown

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


def _read(folder: str, suffix: str) -> dict[str, bytes]:
    """Package files, read once at import: a server that refuses blocking calls on its
    event loop (LangGraph server) never sees a file read in a request."""
    root = files("fusion.web").joinpath(folder)
    return {f.name: f.read_bytes() for f in root.iterdir() if f.name.endswith(suffix)}


_TEMPLATES = {name: data.decode() for name, data in _read("templates", ".html").items()}
_ASSETS = {name: data for name, data in _read("static", "").items() if name in ASSETS}


@cache
def environment() -> Environment:
    env = Environment(
        loader=DictLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = markdown.render
    env.filters["usd"] = usd
    env.filters["short"] = lambda text, n=90: text if len(text) <= n else text[: n - 1] + "…"
    env.tests["web_url"] = web_url
    return env


def web_url(url: str) -> bool:
    """An address the page may link to: http(s) only. A search result can carry any
    URL (`javascript:`, `data:`); those are shown as text."""
    return url.strip().lower().startswith(("http://", "https://"))


def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def fragment(name: str, **values: Any) -> str:
    return environment().get_template(name).render(**values)


def usd(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def asset(name: str) -> Response:
    kind, data = ASSETS.get(name), _ASSETS.get(name)
    if kind is None or data is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return Response(data, media_type=kind, headers=headers)

"""What a request must pass before the server does any work for it.

In this order: the key (nothing is read from a caller who has not shown it), the
body's size (413 past `MAX_BODY_BYTES`, judged first from `Content-Length`, then
while reading, so a 100 MB body is never held), then the body's form: UTF-8, JSON,
nested at most `MAX_JSON_DEPTH` deep, no number longer than `MAX_NUMBER_CHARS`
characters, no NaN or Infinity. Each refusal is a 4xx in OpenAI's error shape.

Two places apply it. `KeyFirst`, an ASGI middleware on `fusion serve`'s app, covers
the API and its docs (`/docs`, `/redoc`, `/openapi.json`), and the size cap on every
path (the web page at `/` signs in with its own form); `OpenAIRoute` (routes.py) applies
`checked_request` again inside the `/v1` routes, because when LangGraph server mounts
this app it keeps our routes but not our middleware.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fusion.serve.errors import ApiError
from fusion.server_key import SERVER_KEY_ENV, key_matches, server_key

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 100
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def key_error(headers: Any) -> ApiError | None:
    """The 401 for a request without this server's key, or None when it may pass."""
    if server_key() is None:
        return None
    scheme, _, given = str(headers.get("authorization", "")).partition(" ")
    if scheme.lower() == "bearer" and key_matches(given):
        return None
    return ApiError(
        401,
        "incorrect API key: send `Authorization: Bearer <key>` with this server's "
        f"{SERVER_KEY_ENV}",
        code="invalid_api_key",
        headers={"www-authenticate": "Bearer"},
    )


def _too_large() -> ApiError:
    return ApiError(
        413,
        f"the request body is over {MAX_BODY_BYTES:,} bytes: send a shorter conversation",
        code="request_too_large",
    )


def declared_length_error(headers: Any) -> ApiError | None:
    """413 (or 400) from the `Content-Length` header alone, before reading anything."""
    declared = str(headers.get("content-length", "")).strip()
    if not declared:
        return None
    if not declared.isdigit() or len(declared) > 18:
        return ApiError(400, "the Content-Length header is not a number", code="invalid_request")
    return _too_large() if int(declared) > MAX_BODY_BYTES else None


async def read_capped(request: Request) -> bytes:
    """The body, or 413 as soon as it passes the cap."""
    error = declared_length_error(request.headers)
    if error is not None:
        raise error
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


def _depth_ok(text: str) -> bool:
    """Whether no array or object in `text` nests deeper than `MAX_JSON_DEPTH`
    (strings skipped), checked before the parser can recurse into it."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise ValueError(f"a number of {len(text)} characters")
        value = kind(text)
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise ValueError("a number too large for a float")
        return value

    return parse


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes) -> Any:
    """The JSON value of `raw`, or a 400 that says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8 text", code="invalid_json") from None
    if not _depth_ok(text):
        raise ApiError(
            400,
            f"the request body nests more than {MAX_JSON_DEPTH} levels deep",
            code="invalid_json",
        )
    try:
        value = json.loads(
            text,
            parse_int=_number(int),
            parse_float=_number(float),
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as exc:
        message = f"the request body is not valid JSON ({exc})"[:300]
        raise ApiError(400, message, code="invalid_json") from None
    try:  # a lone surrogate (\\ud800) parses, but no model call could carry it
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400,
            "the request body holds a lone surrogate escape (such as \\ud800), which is "
            "not valid Unicode text",
            code="invalid_json",
        ) from None
    return value


def _replay(body: bytes, original: Receive) -> Receive:
    """The body once, then the connection's own messages (a disconnect, later)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def checked_request(request: Request) -> Request:
    """`request` after the key, size and JSON checks, its body read once and replayed
    to the handler; raises `ApiError` for a request that fails them."""
    error = key_error(request.headers)
    if error is not None:
        raise error
    if request.method not in _BODY_METHODS:
        return request
    raw = await read_capped(request)
    if raw.strip():
        parse_body(raw)
    return Request(request.scope, _replay(raw, request.receive))


# Paths whose callers must show the key as a bearer token: the API and its schema.
# The web page (fusion.web) has its own sign-in, by form and session cookie.
KEYED_PREFIXES = ("/v1/", "/docs", "/redoc", "/openapi.json")


class KeyFirst:
    """ASGI middleware: the key on the API and its docs, then the declared body size on
    every HTTP path, before anything reads the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            path = str(scope.get("path", ""))
            keyed = path == "/v1" or path.startswith(KEYED_PREFIXES)
            error = (key_error(headers) if keyed else None) or declared_length_error(headers)
            if error is not None:
                await error.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)

"""The page asks for `FUSION_SERVER_API_KEY` when the server has one.

A login form posts the key in the request body (never in a URL); the answer is a
session cookie that holds an HMAC of a fixed label under the key, not the key, and
is `HttpOnly` and `SameSite=Strict` (so another site's form cannot use it). Rotating
the key ends every session. `Authorization: Bearer <key>` works too, for scripts
that export runs.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from fastapi import Request

from fusion.server_key import key_matches, server_key

__all__ = ["COOKIE", "LoginRequired", "key_matches", "server_key", "session_token"]

COOKIE = "fusion_session"
_LABEL = b"fusion web session v1"


class LoginRequired(Exception):
    """The request has no valid session; pages redirect to the login form."""


def session_token(key: str) -> str:
    return hmac.new(key.encode(), _LABEL, hashlib.sha256).hexdigest()


def signed_in(request: Request) -> bool:
    key = server_key()
    if key is None:
        return True
    cookie = request.cookies.get(COOKIE, "")
    if cookie and hmac.compare_digest(cookie.encode(), session_token(key).encode()):
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and key_matches(given)


async def require_session(request: Request) -> None:
    if not signed_in(request):
        raise LoginRequired


def login_url(request: Request) -> str:
    return "/login?next=" + quote(safe_next(request.url.path), safe="/")


def safe_next(path: str | None) -> str:
    """A local path to go back to after login; anything else goes home."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path

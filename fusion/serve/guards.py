"""Who may call, and a refusal to fuse inside a fusion.

The key is read from the environment on every request (never stored), so a
deployment can rotate it without a code change; without `FUSION_SERVER_API_KEY`
the server is open, which suits 127.0.0.1.
"""

from __future__ import annotations

import hmac
import os

from fastapi import Request

from fusion.core.providers import RECURSION_HEADER
from fusion.serve.errors import ApiError

SERVER_KEY_ENV = "FUSION_SERVER_API_KEY"


async def require_key(request: Request) -> None:
    """`Authorization: Bearer <key>` when the server has a key."""
    key = os.environ.get(SERVER_KEY_ENV)
    if not key:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise ApiError(
            401,
            "incorrect API key: send `Authorization: Bearer <key>` with this server's "
            f"{SERVER_KEY_ENV}",
            code="invalid_api_key",
            headers={"www-authenticate": "Bearer"},
        )


async def refuse_nested(request: Request) -> None:
    """Fusion's own model calls carry `X-Fusion-Depth: 1`; a panel or judge pointed
    back at a Fusion server would otherwise fuse again, and again."""
    depth = request.headers.get(RECURSION_HEADER, "").strip()
    if depth and depth != "0":
        raise ApiError(
            400,
            f"refusing a nested fusion ({RECURSION_HEADER}: {depth}): this request came "
            "from a Fusion panel or judge; point its models at a real provider, not at "
            "a Fusion server",
            code="fusion_recursion",
        )

"""Who may call, and a refusal to fuse inside a fusion.

The key is read from the environment on every request (never stored), so a
deployment can rotate it without a code change; without `FUSION_SERVER_API_KEY`
the server is open, which suits 127.0.0.1.
"""

from __future__ import annotations

from fastapi import Request

from fusion.core.providers import RECURSION_HEADER
from fusion.serve.errors import ApiError
from fusion.serve.limits import key_error
from fusion.server_key import SERVER_KEY_ENV

__all__ = ["SERVER_KEY_ENV", "refuse_nested", "require_key"]


async def require_key(request: Request) -> None:
    """`Authorization: Bearer <key>` when the server has a key (`limits.key_error`)."""
    error = key_error(request.headers)
    if error is not None:
        raise error


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

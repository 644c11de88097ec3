"""`fusion mcp --http`: MCP's streamable HTTP app behind the server's key.

With `FUSION_SERVER_API_KEY` set, every HTTP request needs `Authorization: Bearer
<key>`, as `fusion serve` asks: an MCP endpoint reachable by others spends the
provider credit of whoever runs it. Without the key it stays open (fit for 127.0.0.1;
`fusion mcp` warns on any other address).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fusion.server_key import SERVER_KEY_ENV, key_matches, server_key

__all__ = ["RequireServerKey", "serve_http"]


class RequireServerKey:
    """ASGI: a 401 for an HTTP request without the server's key, when it has one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and server_key() is not None and not _has_key(scope):
            message = f"send the server's key: Authorization: Bearer <{SERVER_KEY_ENV}>"
            refusal = JSONResponse(
                {"error": {"type": "unauthorized", "message": message}},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_key(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, given = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and key_matches(given)
    return False


def serve_http(server: Any, host: str, port: int) -> None:
    """Serve `server` (a built Fusion MCP server) on `host:port` at `/mcp`."""
    import uvicorn

    app = RequireServerKey(server.streamable_http_app(host=host))
    uvicorn.run(app, host=host, port=port, log_level=server.settings.log_level.lower())

"""`fusion mcp`: serve the panel to MCP clients, over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fusion.cli.serve import LOOPBACK

MISSING_EXTRA = 'fusion mcp needs the mcp extra: pip install "fusion-panel[mcp]"\n'


def add_mcp_parser(commands: argparse._SubParsersAction[Any]) -> None:
    mcp = commands.add_parser(
        "mcp",
        help="serve ask_panel and run tools to MCP clients (stdio, or --http)",
        description="Run Fusion as an MCP server: over stdio by default (for Claude "
        "Desktop, Claude Code, Cursor), or over streamable HTTP at /mcp with --http.",
    )
    mcp.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="address to bind with --http")
    mcp.add_argument("--port", type=int, default=8765, help="port with --http (default 8765)")
    mcp.add_argument(
        "--db",
        metavar="PATH",
        help="checkpoint database (default: $FUSION_DB, else ~/.local/share/fusion/runs.sqlite)",
    )


def mcp_command(args: argparse.Namespace) -> int:
    """Serve until the client closes stdin (stdio) or until interrupted (HTTP)."""
    try:
        from fusion.mcp import build_server
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        sys.stderr.write(MISSING_EXTRA)
        return 2
    from fusion.core.settings import load_settings

    load_settings()  # a broken config file fails now, in one line, not on every call
    server = build_server(args.db)
    if not args.http:
        server.run("stdio")
        return 0
    from fusion.mcp.http import serve_http
    from fusion.server_key import SERVER_KEY_ENV, server_key

    if args.host not in LOOPBACK and server_key() is None:
        sys.stderr.write(
            f"fusion mcp: warning: {args.host} is reachable by others and the MCP endpoint "
            f"has no key: anyone who can connect spends your provider credit (set "
            f"{SERVER_KEY_ENV} to require it as a Bearer token)\n"
        )
    serve_http(server, args.host, args.port)
    return 0

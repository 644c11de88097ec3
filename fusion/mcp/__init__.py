"""Fusion as an MCP server: `ask_panel` and friends for any MCP client.

`fusion mcp` serves it over stdio (the default, for Claude Desktop, Claude Code,
Cursor, VS Code) or over streamable HTTP (`--http --port N`). Needs the `mcp` extra.
"""

from fusion.mcp.server import build_server

__all__ = ["build_server"]

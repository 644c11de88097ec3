"""`fusion mcp`: Fusion as an MCP server, over stdio or streamable HTTP."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from fusion.core.settings import load_settings_async
from fusion.mcp.tools import PanelTools

__all__ = ["build_server", "presets_markdown"]

INSTRUCTIONS = (
    "Fusion asks a panel of LLMs the same question; each may search and read the web, "
    "and a judge writes one answer from their drafts, weighing consensus and "
    "contradictions. Use ask_panel for questions that benefit from several models "
    "(facts to check, trade-offs, contested topics); estimate_cost first if cost "
    "matters. Runs are checkpointed: resume_run finishes an interrupted run without "
    "paying twice for what was done; rejudge_run judges a run's drafts again (another "
    "judge) without calling the panel."
)


async def presets_markdown() -> str:
    """The presets in force (shipped and from the config file), as Markdown."""
    settings = await load_settings_async()
    lines = ["# Fusion presets", ""]
    for name, preset in sorted(settings.presets.items()):
        default = " (default)" if name == settings.default_preset else ""
        lines += [f"## {name}{default}", "", preset.description, ""]
        lines += [f"- panel: {', '.join(preset.panel)}", f"- judge: {preset.judge}"]
        if preset.fallback_judge:
            lines += [f"- fallback judge: {preset.fallback_judge}"]
        lines += [""]
    return "\n".join(lines)


def build_server(db: str | None = None) -> MCPServer:
    """The server, its tools bound to the checkpoint database `db` (else `FUSION_DB`)."""
    server: MCPServer = MCPServer("fusion", instructions=INSTRUCTIONS)
    tools = PanelTools(db)
    paid = ToolAnnotations(read_only_hint=False, open_world_hint=True, idempotent_hint=False)
    read = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    server.add_tool(tools.ask_panel, name="ask_panel", title="Ask the panel", annotations=paid)
    server.add_tool(tools.resume_run, name="resume_run", title="Resume a run", annotations=paid)
    server.add_tool(
        tools.rejudge_run, name="rejudge_run", title="Re-judge a run's drafts", annotations=paid
    )
    server.add_tool(tools.get_run, name="get_run", title="Read a run", annotations=read)
    server.add_tool(tools.list_runs, name="list_runs", title="List runs", annotations=read)
    server.add_tool(
        tools.estimate_cost, name="estimate_cost", title="Estimate a run's cost", annotations=read
    )
    server.resource(
        "fusion://runs/{thread_id}",
        name="run",
        description="A run as Markdown: question, answer, analysis, drafts, failures, cost.",
        mime_type="text/markdown",
    )(tools.run_report)
    server.resource(
        "fusion://presets",
        name="presets",
        description="The presets in force: each panel and judge.",
        mime_type="text/markdown",
    )(presets_markdown)
    return server

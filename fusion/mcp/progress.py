"""Progress notifications for a client watching a run: one per panel event, and a
few while the judge writes. MCP wants `progress` to grow with every notification,
so it counts notifications; `total` is unknown (tool rounds vary)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

ANSWER_EVERY_CHARS = 400
"""The judge's answer is reported every this many characters, not per token."""


def describe(event: dict[str, Any]) -> str | None:
    """One line for a progress event, or None for events a client needn't see."""
    name, model = event.get("event"), event.get("model", "")
    if name == "panelist_started":
        return f"{model}: started"
    if name == "tool_call":
        if event.get("tool") == "web_search":
            return f"{model}: searching {event.get('query', '')!r}"
        return f"{model}: reading {event.get('url', '')}"
    if name == "draft_done":
        return f"{model}: draft done ({event.get('seconds', 0):.1f} s)"
    if name == "panelist_failed":
        return f"{model}: failed ({event.get('reason')})"
    if name == "judge_started":
        return f"judge {model}: reading {event.get('drafts')} drafts"
    if name == "judge_done":
        return f"judge {model}: {event.get('status')}"
    return None


class Progress:
    """Sends a run's events to the client as progress notifications."""

    def __init__(self, ctx: Context[Any, Any]) -> None:
        self._ctx = ctx
        self._sent = 0
        self._answer_chars = 0
        self._answer_reported = -1

    async def _send(self, message: str) -> None:
        self._sent += 1
        await self._ctx.report_progress(self._sent, None, message)

    async def on_event(self, event: dict[str, Any]) -> None:
        message = describe(event)
        if message is not None:
            await self._send(message)

    async def on_answer(self, text: str) -> None:
        self._answer_chars += len(text)
        if self._answer_reported < 0 or self._answer_chars - self._answer_reported >= (
            ANSWER_EVERY_CHARS
        ):
            self._answer_reported = self._answer_chars
            await self._send(f"judge: writing the answer ({self._answer_chars} chars)")

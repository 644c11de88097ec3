"""A run exported as Markdown (`fusion.markdown`, the report MCP serves too) or JSON
(`fusion ask --json`'s shape plus the question)."""

from __future__ import annotations

import json
from typing import Any

from fusion.markdown import run_markdown
from fusion.web.store import Run


def as_json(run: Run) -> str:
    payload: dict[str, Any] = {
        "question": run.question,
        "state": run.state,
        **run.result.model_dump(mode="json"),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def as_markdown(run: Run) -> str:
    return run_markdown(run.result, run.question)

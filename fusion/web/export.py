"""A run exported as Markdown (to read or share) or JSON (`fusion ask --json`'s shape
plus the question)."""

from __future__ import annotations

import json
from typing import Any

from fusion.web.store import Run


def as_json(run: Run) -> str:
    payload: dict[str, Any] = {
        "question": run.question,
        "state": run.state,
        **run.result.model_dump(mode="json"),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def as_markdown(run: Run) -> str:
    result = run.result
    out = [f"# {_line(run.question)}", "", f"thread `{run.thread_id}`, status {run.state}", ""]
    out += ["## Answer", "", result.answer or "_no answer_", ""]
    analysis = result.analysis
    if analysis is not None:
        out += ["## Analysis", ""]
        out += _bullets("Consensus", analysis.consensus)
        if analysis.contradictions:
            out += ["### Contradictions", ""]
            for item in analysis.contradictions:
                out += [f"**{_line(item.topic)}**", "", "| model | stance |", "| --- | --- |"]
                out += [f"| {_cell(s.model)} | {_cell(s.stance)} |" for s in item.stances]
                out.append("")
        out += _bullets(
            "Partial coverage",
            [f"{p.point} ({', '.join(p.models)})" for p in analysis.partial_coverage],
        )
        out += _bullets(
            "Unique insights", [f"{u.model}: {u.insight}" for u in analysis.unique_insights]
        )
        out += _bullets("Blind spots", analysis.blind_spots)
    out += ["## Drafts", ""]
    for response in result.responses:
        cost = "" if response.cost_usd is None else f", ${response.cost_usd:.4f}"
        out += [f"### {response.model} ({response.status}{cost}, {response.seconds:.1f} s)", ""]
        out += [response.text or "_no draft_", ""]
        if response.sources:
            out += ["Sources:", ""]
            out += [f"- <{s.url}> {_line(s.title)}".rstrip() for s in response.sources]
            out.append("")
    for failed in result.failed_models:
        out += [f"- failed: {failed.model}: {failed.reason} {_line(failed.message)}".rstrip()]
    total = result.usage.cost_usd
    spent = "" if total is None else f", ${total:.4f}"
    out += ["", f"Total: {result.usage.total_tokens} tokens{spent}"]
    return "\n".join(out) + "\n"


def _bullets(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"### {title}", "", *(f"- {_line(i)}" for i in items), ""]


def _line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _line(text).replace("|", "\\|")

"""A run as a Markdown report: for `fusion://runs/{id}`, exports and sharing.

The answer is the judge's Markdown and goes in as written; everything else a model
or page wrote (drafts, stances, insights, failure messages) is quoted or put in
fenced blocks, so it can't restructure the report around it.
"""

from __future__ import annotations

from fusion.result import FusionResult

__all__ = ["run_markdown"]


def _fenced(text: str) -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for char in line:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def _inline(text: str) -> str:
    """One line of model text, with Markdown's structural characters escaped."""
    flat = " ".join(text.split())
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-!|" else c for c in flat)


def _url(url: str) -> str:
    """A URL that can't close its `<...>` autolink or break the line."""
    return "".join(f"%{ord(c):02X}" if c in "<> \n\r\t" else c for c in url)


def _source(url: str) -> str:
    """An http(s) source as an autolink; any other scheme (`javascript:`, `data:`, as a
    search result may carry) as text, never a link."""
    if url.strip().lower().startswith(("http://", "https://")):
        return f"<{_url(url)}>"
    return _inline(url)


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def run_markdown(result: FusionResult, question: str = "") -> str:
    """The whole run: question, answer, analysis, each draft, failures and cost."""
    lines = [f"# Fusion run {result.thread_id or ''}".rstrip(), ""]
    if question:
        lines += ["## Question", "", _fenced(question), ""]
    lines += [f"**Status:** {result.status}"]
    if result.failure_reason:
        lines += [f"**Failure reason:** `{result.failure_reason}`"]
    if result.failure_message:
        lines += [f"**Failure message:** {_inline(result.failure_message)}"]
    usage = result.usage
    lines += [
        f"**Cost:** {_usd(usage.cost_usd)}"
        + ("" if usage.cost_complete else " (incomplete: some calls had no price)")
        + f" · {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens",
        "",
        "## Answer",
        "",
    ]
    if result.answer and result.answer_truncated:
        lines += [
            "> **Truncated:** the answer was cut at the judge's token limit "
            "(`judge_truncated`); it ends where the judge stopped.",
            "",
        ]
    lines += [result.answer if result.answer else "_no answer_", ""]
    analysis = result.analysis
    if analysis is not None:
        lines += ["## Analysis", ""]
        lines += ["### Consensus", ""] + [f"- {_inline(c)}" for c in analysis.consensus] + [""]
        lines += ["### Contradictions", ""]
        for item in analysis.contradictions:
            lines += [f"**{_inline(item.topic)}**", "", "| model | stance |", "| --- | --- |"]
            lines += [f"| {_inline(s.model)} | {_inline(s.stance)} |" for s in item.stances]
            lines += [""]
        lines += ["### Partial coverage", ""]
        lines += [
            f"- {_inline(p.point)} ({', '.join(_inline(m) for m in p.models)})"
            for p in analysis.partial_coverage
        ] + [""]
        lines += ["### Unique insights", ""]
        lines += [f"- {_inline(u.model)}: {_inline(u.insight)}" for u in analysis.unique_insights]
        lines += ["", "### Blind spots", ""] + [f"- {_inline(b)}" for b in analysis.blind_spots]
        lines += [""]
    lines += ["## Drafts", ""]
    for response in result.responses:
        lines += [
            f"### {_inline(response.model)}",
            "",
            f"{response.status} · {_usd(response.cost_usd)} · {response.seconds:.1f} s · "
            f"{response.tool_calls} tool calls"
            + (" · **truncated** (cut at its token limit)" if response.truncated else ""),
            "",
            _fenced(response.text),
            "",
        ]
        if response.sources:
            lines += ["Sources:", ""] + [f"- {_source(s.url)}" for s in response.sources] + [""]
    if result.failed_models:
        lines += ["## Failed", ""]
        lines += [
            f"- {_inline(f.model)}: `{f.reason}` {_inline(f.message)}" for f in result.failed_models
        ]
        lines += [""]
    return "\n".join(lines).rstrip() + "\n"

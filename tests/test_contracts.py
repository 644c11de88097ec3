"""The public contracts are tied to the code: the README's event table and failure
reasons, the progress events a real run sends, and the analysis schema's one home."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import TypeAdapter

from fusion import fuse
from fusion.api import stream_run
from fusion.core.analysis import Analysis, JudgeAnalysis, by_model
from fusion.core.context import Context
from fusion.core.events import EVENT_TYPES
from fusion.core.failures import MODEL_FAILURES, RUN_FAILURES
from fusion.result import Analysis as ResultAnalysis
from fusion.serve.schemas import FusionMetadata
from tests.fixtures.llm_replies import ChatRequest, Error, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.web_server import ScriptedWebServer

README = (Path(__file__).parent.parent / "README.md").read_text()


def _readme_event_table() -> dict[str, set[str]]:
    """`event` -> its documented fields, from the README's event table."""
    table = README.split("| event | fields |", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        name, fields = (cell.strip() for cell in line.strip("|").split("|"))
        fields = re.sub(r"\([^)]*\)", "", fields)  # `tool` (`web_search` or ...) -> `tool`
        rows[name.strip("`")] = set(re.findall(r"`(\w+)`", fields))
    return rows


def _fields(kind: type) -> set[str]:
    return set(get_type_hints(kind)) - {"event"}


def test_readme_event_table_matches_the_typed_events() -> None:
    documented = _readme_event_table()
    assert set(documented) == set(EVENT_TYPES)
    for name, kind in EVENT_TYPES.items():
        assert documented[name] == _fields(kind), name


def test_readme_lists_every_failure_reason_and_no_other() -> None:
    typed = re.search(r"typed `reason` \((.*?)\) and the provider", README, re.S)
    assert typed is not None
    assert set(re.findall(r"`(\w+)`", typed.group(1))) == MODEL_FAILURES
    quoted = set(re.findall(r"`(\w+)`", README))
    assert quoted >= RUN_FAILURES


def test_public_results_refuse_an_unknown_reason() -> None:
    from fusion.result import FusionResult

    state = {"status": "failed", "failure_reason": "not_a_reason"}
    try:
        FusionResult.from_state(state)
    except ValueError as exc:
        assert "failure_reason" in str(exc)
    else:
        raise AssertionError("an undeclared failure reason was accepted")


async def test_a_real_run_sends_only_events_of_the_declared_shapes(
    llm_env: ScriptedLLMServer, web_env: ScriptedWebServer
) -> None:
    url = web_env.page("/otters", "<html><title>Otters</title><p>Otters hold hands.</p></html>")
    web_env.on_search([{"url": url, "title": "Otters", "content": "They hold hands."}])

    def reader(request: ChatRequest) -> Text | ToolCalls:
        if not request.tool_results:
            return ToolCalls([("web_search", {"query": "otters"}), ("web_fetch", {"url": url})])
        return Text("Otters hold hands.")

    llm_env.script("vendor/reader", reader)
    llm_env.script("vendor/broken", Error(401, "bad key"))
    llm_env.script("vendor/judge", echo_judge)
    context = Context(panel=["vendor/reader", "vendor/broken"], judge="vendor/judge")

    events: list[dict[str, Any]] = []
    async for kind, data in stream_run({"prompt": "Otters?"}, context, None, "contracts-1"):
        if kind == "custom":
            events.append(data)

    names = [e["event"] for e in events]
    # every event but the judge's fault paths (fallback, retry, trimmed input) and
    # prefetch's research_done, tested apart (research_done in test_research.py)
    assert set(names) == set(EVENT_TYPES) - {
        "judge_fallback",
        "judge_retry",
        "judge_input_trimmed",
        "research_done",
    }, names
    for event in events:
        kind = EVENT_TYPES[event["event"]]
        TypeAdapter(kind).validate_python(event, strict=True)
        assert set(event) - {"event"} <= _fields(kind), event  # nothing undeclared
    calls = {e["tool"]: e for e in events if e["event"] == "tool_call"}
    assert calls["web_search"]["query"] == "otters" and "url" not in calls["web_search"]
    assert calls["web_fetch"]["url"] == url and "query" not in calls["web_fetch"]
    (failed,) = [e for e in events if e["event"] == "panelist_failed"]
    assert failed["reason"] == "unauthorized" and failed["reason"] in MODEL_FAILURES


def test_the_analysis_has_one_schema_in_two_spellings() -> None:
    assert ResultAnalysis is Analysis
    assert FusionMetadata.model_fields["analysis"].annotation == Analysis | None
    assert list(JudgeAnalysis.model_fields) == list(Analysis.model_fields)
    for name, field in JudgeAnalysis.model_fields.items():
        assert field.description == Analysis.model_fields[name].description


def test_by_model_names_every_letter_and_fits_the_public_schema() -> None:
    judged = JudgeAnalysis.model_validate(
        {
            "consensus": ["c"],
            "contradictions": [
                {"topic": "t", "stances": [{"response": "A", "stance": "yes"}]},
            ],
            "partial_coverage": [{"responses": ["Response B", "a"], "point": "p"}],
            "unique_insights": [{"response": "Z", "insight": "i"}],
            "blind_spots": ["b"],
        }
    )
    named = by_model(judged, {"A": "vendor/a", "B": "vendor/b"})
    public = Analysis.model_validate(named)
    assert public.contradictions[0].stances[0].model == "vendor/a"
    assert public.partial_coverage[0].models == ["vendor/b", "vendor/a"]
    assert public.unique_insights[0].model == "unknown response Z"


async def test_fuse_refuses_a_bad_option_type_with_one_config_error_line() -> None:
    from fusion.core.errors import ConfigError

    for options in ({"max_tool_calls": "8"}, {"budget_usd": float("nan")}):
        try:
            await fuse("q", panel=["a/b"], judge="c/d", web=False, **options)
        except ConfigError as exc:
            assert "\n" not in str(exc) and next(iter(options)) in str(exc)
        else:
            raise AssertionError(f"{options} was accepted")

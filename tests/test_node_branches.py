"""Fast unit tests of the panelist's and judge's branches, one node function at a
time, with fake chat models (no HTTP, no graph): each branch in milliseconds.

The whole-run behaviour of the same branches is tested over real HTTP elsewhere
(test_tool_loop, test_faults, test_budget); these pin down the decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Send

from fusion.core.context import Context
from fusion.core.settings import load_settings
from fusion.nodes import judge_call, panelist
from fusion.nodes.draft import write_draft
from fusion.nodes.panelist import DRAFT_NODE, FETCH_NODE, SEARCH_NODE, call_model
from fusion.nodes.panelist import route_after_model as route
from fusion.nodes.panelist_prompts import BUDGET_SPENT
from tests.fixtures.fake_chat import FakeChatModel, Reply, Script

MODEL = "vendor/fake"
ANALYSIS = {
    "consensus": ["c"],
    "contradictions": [],
    "partial_coverage": [],
    "unique_insights": [{"response": "A", "insight": "i"}],
    "blind_spots": [],
}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings from the shipped file only, and a key so providers resolve."""
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    monkeypatch.setenv("FUSION_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("FUSION_API_KEY", "unused")


def fake(monkeypatch: pytest.MonkeyPatch, module: Any, *replies: Reply) -> Script:
    """Every chat model `module` builds is a fake answering `replies` in order."""
    script = Script(list(replies))
    monkeypatch.setattr(module, "chat_model", lambda *a, **k: FakeChatModel(script=script))
    return script


def state(*loop: Any, **extra: Any) -> Any:
    return {
        "model": MODEL,
        "conversation": [HumanMessage("Q?")],
        "messages": list(loop),
        "calls": [],
        "responses": [],
        "failed_models": [],
    } | extra


def tool_reply(*calls: tuple[str, dict[str, Any]]) -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(calls)]
    )


# -- panelist --------------------------------------------------------------------------


async def test_tool_calls_go_to_their_tool_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake(
        monkeypatch,
        panelist,
        tool_reply(("web_search", {"query": "q"}), ("web_fetch", {"url": "http://x"})),
    )
    update = await call_model(state(), Runtime(context=Context(max_tool_calls=4)))

    assert script.tools == [["web_search", "web_fetch"]]  # tools offered
    sends = await route(state(*update["messages"]))
    assert isinstance(sends, list) and all(isinstance(s, Send) for s in sends)
    assert [s.node for s in sends] == [SEARCH_NODE, FETCH_NODE]


async def test_calls_beyond_the_budget_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    three = [("web_search", {"query": str(i)}) for i in range(3)]
    fake(monkeypatch, panelist, tool_reply(*three))
    update = await call_model(state(), Runtime(context=Context(max_tool_calls=2)))

    (reply,) = update["messages"]
    assert [c["args"]["query"] for c in reply.tool_calls] == ["0", "1"]


async def test_a_spent_budget_offers_no_tools_and_asks_for_the_draft(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = fake(monkeypatch, panelist, AIMessage("my draft"))
    loop = [tool_reply(("web_search", {"query": "q"})), ToolMessage("r", tool_call_id="c0")]
    update = await call_model(state(*loop), Runtime(context=Context(max_tool_calls=1)))

    assert script.tools == [[]]
    assert script.calls[0][-1].text == BUDGET_SPENT
    assert await route(state(*loop, *update["messages"])) == DRAFT_NODE


async def test_no_web_offers_no_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake(monkeypatch, panelist, AIMessage("draft"))
    await call_model(state(), Runtime(context=Context(web=False)))
    assert script.tools == [[]]


async def test_a_failed_call_becomes_a_typed_failure_and_no_draft(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = openai.RateLimitError(
        "slow down", response=_response(429), body={"error": {"message": "slow down"}}
    )
    fake(monkeypatch, panelist, error)
    update = await call_model(state(), Runtime(context=Context()))

    assert update["error"]["reason"] == "rate_limited"
    assert await route(state(**update)) == DRAFT_NODE
    drafted = await write_draft(state(**update))
    assert drafted["failed_models"] == [update["error"]]
    assert drafted["responses"][0]["status"] == "failed"


async def test_an_empty_reply_is_an_empty_completion() -> None:
    drafted = await write_draft(state(AIMessage("  ")))
    (failure,) = drafted["failed_models"]
    assert failure["reason"] == "empty_completion"
    assert drafted["responses"][0]["text"] == ""


async def test_a_draft_keeps_its_sources_and_tool_count() -> None:
    search = ToolMessage(
        "results", tool_call_id="c0", name="web_search", artifact=[{"url": "u1", "title": "T"}]
    )
    fetch = ToolMessage(
        "page", tool_call_id="c1", name="web_fetch", artifact={"url": "u1", "title": "T"}
    )
    drafted = await write_draft(state(search, fetch, AIMessage("answer")))
    (response,) = drafted["responses"]
    assert response["status"] == "ok" and response["tool_calls"] == 2
    assert response["sources"] == [{"url": "u1", "title": "T", "via": "fetch"}]


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "http://127.0.0.1:9/v1"))


# -- judge -----------------------------------------------------------------------------


def structured(payload: dict[str, Any]) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": "JudgeAnalysis", "args": payload, "id": "j"}])


async def judge(**kwargs: Any) -> judge_call.JudgeOutcome:
    """The judge's answer-first branch (`judge_order="answer_first"`): an answer call,
    then the analysis call. The analysis-first single call is covered over real HTTP."""
    return await judge_call.run_judge(
        MODEL,
        lambda mode: [HumanMessage("drafts")],
        load_settings(),
        method="function_calling",
        order="answer_first",
        max_completion_tokens=None,
        responses=2,
        **kwargs,
    )


async def test_judge_answers_then_analyses(monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake(monkeypatch, judge_call, AIMessage("the answer"), structured(ANALYSIS))
    outcome = await judge()

    assert outcome.answer is not None and outcome.answer.text == "the answer"
    assert outcome.analysis is not None and outcome.failure_reason is None
    assert len(outcome.calls) == 2
    assert script.calls[1][-2].text == "the answer"  # the analysis continues the answer


async def test_judge_repairs_a_bad_analysis_once(monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake(
        monkeypatch,
        judge_call,
        AIMessage("answer"),
        AIMessage("not json at all"),
        structured(ANALYSIS),
    )
    outcome = await judge()

    assert outcome.analysis is not None and outcome.failure_reason is None
    assert "not valid JSON" in script.calls[2][-1].text  # the repair names the problem


async def test_judge_keeps_the_answer_when_the_analysis_never_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = structured({"consensus": "not a list"})
    fake(monkeypatch, judge_call, AIMessage("answer"), bad, bad)
    outcome = await judge()

    assert outcome.answer is not None and outcome.analysis is None
    assert outcome.failure_reason == "judge_schema_mismatch"


async def test_judge_empty_answer_is_judge_empty_completion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake(monkeypatch, judge_call, AIMessage(""))
    outcome = await judge()
    assert outcome.answer is None and outcome.failure_reason == "judge_empty_completion"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "rate_limited"), (402, "insufficient_credits"), (500, "judge_upstream_error")],
)
async def test_judge_upstream_failures_keep_the_callers_reasons(
    monkeypatch: pytest.MonkeyPatch, status: int, reason: str
) -> None:
    error = openai.APIStatusError("no", response=_response(status), body=None)
    fake(monkeypatch, judge_call, error)
    outcome = await judge()
    assert outcome.answer is None and outcome.failure_reason == reason


async def test_a_fallback_judge_given_the_answer_only_analyses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = fake(monkeypatch, judge_call, structured(ANALYSIS))
    outcome = await judge(answer=AIMessage("earlier answer"))
    assert outcome.analysis is not None and len(script.calls) == 1

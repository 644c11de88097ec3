"""A whole fused run against the scripted model server, through the real clients."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fusion import fuse
from fusion.api import collect, make_context, stream_run
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, responses_in

PANEL = ["vendor/alpha", "vendor/beta", "vendor/gamma"]


def script_panel(llm: ScriptedLLMServer, delay: float = 0.0, cost: float | None = 0.001) -> None:
    for model in PANEL:
        llm.script(
            model, lambda r, m=model: Text(f"draft by {m.split('/')[1]}", delay=delay, cost=cost)
        )
    llm.script("vendor/judge", echo_judge)


async def test_panelists_run_concurrently_and_judge_runs_once_after_all(
    llm_env: ScriptedLLMServer,
) -> None:
    script_panel(llm_env, delay=0.6)
    result = await fuse("What is fusion?", panel=PANEL, judge="vendor/judge", web=False)

    assert result.status == "ok", result
    panel_requests = [r for r in llm_env.requests if r.model in PANEL]
    assert sorted(r.model for r in panel_requests) == sorted(PANEL)
    # every panelist's request arrived before any of them was answered: they overlap
    assert max(r.started for r in panel_requests) < min(r.ended or 0 for r in panel_requests)
    (judge_request,) = llm_env.requests_for("vendor/judge")  # analysis and answer in one
    assert judge_request.started >= max(r.ended or 0 for r in panel_requests)
    # fuse() streams nothing: every call is a whole reply (see test_streaming)
    assert not any(r.stream for r in [judge_request, *panel_requests])


async def test_judge_sees_every_draft_anonymised_and_analysis_names_real_models(
    llm_env: ScriptedLLMServer,
) -> None:
    script_panel(llm_env)
    result = await fuse("What is fusion?", panel=PANEL, judge="vendor/judge", web=False)

    for judge_request in llm_env.requests_for("vendor/judge"):
        shown = responses_in(judge_request)
        assert sorted(shown.values()) == ["draft by alpha", "draft by beta", "draft by gamma"]
        for model in PANEL:
            assert model not in judge_request.text
            assert model not in str(judge_request.body)
    assert result.analysis is not None
    insights = {i.model: i.insight for i in result.analysis.unique_insights}
    assert insights == {m: f"draft by {m.split('/')[1]}" for m in PANEL}
    stances = {s.model: s.stance for s in result.analysis.contradictions[0].stances}
    assert stances == insights
    assert result.analysis.partial_coverage[0].models[0] in PANEL
    assert result.answer and "draft by beta" in result.answer


async def test_draft_order_reaching_the_judge_is_shuffled(llm_env: ScriptedLLMServer) -> None:
    script_panel(llm_env)
    orders = set()
    for seed in range(8):
        llm_env.requests.clear()
        await fuse("Q?", panel=PANEL, judge="vendor/judge", web=False, seed=seed)
        shown = responses_in(llm_env.requests_for("vendor/judge")[0])
        orders.add(tuple(shown[k] for k in sorted(shown)))
    assert len(orders) > 1


async def test_tokens_and_cost_are_the_sums_of_every_answered_call(
    llm_env: ScriptedLLMServer,
) -> None:
    script_panel(llm_env, cost=0.0021)
    llm_env.script("vendor/judge", lambda r: replace(echo_judge(r), cost=0.0005))
    context = make_context(panel=PANEL, judge="vendor/judge", web=False)

    for progress in (True, False):  # the judge's answer streamed, then a whole reply
        llm_env.requests.clear()
        events = stream_run({"prompt": "What is fusion?"}, context, None, "t", progress=progress)
        result = await collect(events, "t")

        answered = [r for r in llm_env.requests if r.status == 200 and r.usage]
        assert len(answered) == 4  # three drafts, one judge call
        assert result.usage.prompt_tokens == sum(r.usage["prompt_tokens"] for r in answered)
        assert result.usage.completion_tokens == sum(r.usage["completion_tokens"] for r in answered)
        # the provider's cost is kept for a streamed call as for a whole reply
        assert [r.stream for r in llm_env.requests_for("vendor/judge")] == [progress]
        assert result.usage.cost_complete is True
        assert result.usage.cost_usd == pytest.approx(3 * 0.0021 + 0.0005)
    for response in result.responses:
        assert response.cost_usd == pytest.approx(0.0021)
        request = llm_env.requests_for(response.model)[0]
        assert response.usage.prompt_tokens == request.usage["prompt_tokens"]


async def test_unpriced_model_reports_null_cost_not_zero(llm_env: ScriptedLLMServer) -> None:
    llm_env.script("vendor/unpriced", Text("an answer"))
    llm_env.script("vendor/judge", echo_judge)
    result = await fuse("Q?", panel=["vendor/unpriced"], judge="vendor/judge", web=False)

    assert result.responses[0].cost_usd is None
    assert result.usage.cost_usd is None
    assert result.usage.cost_complete is False


async def test_price_table_from_config_file_prices_calls(
    llm_env: ScriptedLLMServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[models."vendor/priced"]\ninput_per_million = 2.0\noutput_per_million = 10.0\n'
        '[models."vendor/judge"]\ninput_per_million = 1.0\noutput_per_million = 1.0\n'
    )
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    llm_env.script(
        "vendor/priced", Text("priced answer", prompt_tokens=1000, completion_tokens=100)
    )
    llm_env.script("vendor/judge", echo_judge)
    result = await fuse("Q?", panel=["vendor/priced"], judge="vendor/judge", web=False)

    assert result.responses[0].cost_usd == pytest.approx((1000 * 2.0 + 100 * 10.0) / 1e6)
    judge_cost = sum(
        (r.usage["prompt_tokens"] + r.usage["completion_tokens"]) / 1e6
        for r in llm_env.requests_for("vendor/judge")
        if r.usage
    )
    assert result.usage.cost_complete is True
    assert result.usage.cost_usd == pytest.approx(0.003 + judge_cost)


async def test_conversation_input_gets_the_answer_appended_as_ai_message(
    llm_env: ScriptedLLMServer,
) -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    from fusion.graph import graph

    llm_env.script("vendor/a", Text("Paris, still."))
    llm_env.script("vendor/judge", echo_judge)
    history = [
        HumanMessage("What is the capital of France?"),
        AIMessage("Paris."),
        HumanMessage("And in 1900?"),
    ]
    state = await graph.ainvoke(
        {"messages": history},
        context=fusion_context(panel=["vendor/a"], judge="vendor/judge", web=False),
    )

    (request,) = llm_env.requests_for("vendor/a")
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user"]
    assert state["messages"][-1].type == "ai"
    assert state["messages"][-1].content == state["answer"]
    assert len(state["messages"]) == 4
    assert "capital of France" in llm_env.requests_for("vendor/judge")[0].text


def fusion_context(**options: object) -> object:
    from fusion.api import make_context

    return make_context(**options)


async def test_instructions_reach_every_panelist_and_the_judge(llm_env: ScriptedLLMServer) -> None:
    script_panel(llm_env)
    await fuse("Q?", panel=PANEL, judge="vendor/judge", web=False, instructions="Reply in Welsh.")

    for request in llm_env.requests:
        system = request.messages[0]
        assert system["role"] == "system" and "Reply in Welsh." in system["content"]
    assert len(llm_env.requests) == len(PANEL) + 1

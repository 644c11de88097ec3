"""Provider capabilities: the judge method follows what the server supports.

Against the scripted server made to look like llama.cpp (it answers `/props`), like
a server that ignores a named tool_choice, and configured per provider; the real
llama.cpp server is in test_llama_server.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.core.capabilities import forget_capabilities, judge_method_for, learn_capabilities
from fusion.core.settings import load_settings
from tests.fixtures.llm_replies import ChatRequest, Error, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.test_judge import run, script, verdict_judge


def prose_for_tools(request: ChatRequest) -> Text | Structured:
    """A server that ignores a forced tool call and writes prose instead."""
    if request.body.get("tool_choice") and not request.body.get("response_format"):
        return Text("I think the sky is blue.", cost=0.0001)
    return verdict_judge(request)


async def test_a_llama_cpp_server_is_recognised_and_judged_through_json_schema(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.n_ctx = 8192  # the scripted server now answers /props, as llama.cpp does
    script(llm_env, prose_for_tools)
    _chunks, events, result = await run()

    (verdict,) = llm_env.requests_for("vendor/judge")  # no tool call was tried first
    assert verdict.body["response_format"]["type"] == "json_schema"
    assert not verdict.body.get("tools")
    (started,) = [e for e in events if e["event"] == "judge_started"]
    assert started["method"] == "json_schema"
    assert result.status == "ok" and result.analysis is not None
    assert result.judge_method == "json_schema" and result.judge_mode == "single_call"


async def test_a_tool_call_answered_in_prose_is_remembered_for_later_runs(
    llm_env: ScriptedLLMServer,
) -> None:
    script(llm_env, prose_for_tools)
    _chunks, _events, first = await run()
    assert first.judge_method == "json_schema" and first.judge_mode == "two_calls"
    llm_env.reset()
    script(llm_env, prose_for_tools)

    _chunks, events, second = await run()

    (verdict,) = llm_env.requests_for("vendor/judge")
    assert verdict.body["response_format"]["type"] == "json_schema"
    assert not [e for e in events if e["event"] == "judge_fallback"]
    assert second.judge_method == "json_schema" and second.judge_mode == "single_call"
    assert second.status == "ok"


async def test_the_run_and_the_config_file_win_over_the_server(
    llm_env: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[providers.local]\nbase_url = "{llm_env.base_url}"\njudge_method = "json_mode"\n'
        '[models."vendor/judge"]\nprovider = "local"\n'
        '[models."vendor/plain"]\nprovider = "local"\njudge_method = "function_calling"\n'
    )
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    llm_env.n_ctx = 4096
    settings = load_settings()
    await learn_capabilities(["vendor/judge", "vendor/other"], settings)

    assert judge_method_for("vendor/judge", settings) == ("json_mode", "provider config")
    assert judge_method_for("vendor/plain", settings)[0] == "function_calling"
    assert judge_method_for("vendor/other", settings) == ("json_schema", "llama.cpp server")
    assert judge_method_for("vendor/other", settings, "function_calling")[0] == ("function_calling")
    forget_capabilities()
    assert judge_method_for("vendor/other", settings) == ("function_calling", "default")


async def test_an_unreadable_verdict_names_judge_method_in_its_message(
    llm_env: ScriptedLLMServer,
) -> None:
    def never_json(request: ChatRequest) -> Text:
        return Text("no structure here, ever", cost=0.0001)

    script(llm_env, never_json)
    _chunks, _events, result = await run(judge_method="json_schema")

    assert result.status in ("degraded", "failed")
    assert result.failure_reason in ("judge_not_valid_json", "judge_empty_completion")
    assert result.failure_message is not None
    assert "judge_method json_schema" in result.failure_message
    assert '"json_mode"' in result.failure_message


async def test_a_provider_refusing_the_named_tool_choice_is_asked_through_json_schema(
    llm_env: ScriptedLLMServer,
) -> None:
    """llama.cpp without --jinja answers HTTP 400 to a named tool_choice; such runs
    used to end `judge_upstream_error`."""

    def refusing(request: ChatRequest) -> Text | Structured | Error:
        if request.body.get("tool_choice"):
            return Error(400, "Wrong type supplied for parameter 'tool_choice'")
        return verdict_judge(request)

    script(llm_env, refusing)
    _chunks, events, result = await run()

    (fallback,) = [e for e in events if e["event"] == "judge_fallback"]
    assert fallback["reason"] == "tool_choice_ignored" and fallback["method"] == "json_schema"
    assert result.status == "ok" and result.analysis is not None
    assert result.judge_method == "json_schema" and result.failure_reason is None

"""`fusion mcp`, driven by the MCP SDK's own client over stdio and streamable HTTP,
against the scripted model server."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from fusion.core.options import option_fields
from fusion.mcp import build_server
from tests.fixtures.checkpoints import saved_writes, wait_until
from tests.fixtures.llm_replies import Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.mcp import (
    HttpMcpServer,
    mcp_env,
    start_http_server,
    stdio_params,
    stop,
)
from tests.fixtures.panel_scripts import echo_judge

PANEL = ["vendor/a", "vendor/b"]
ASK = {"question": "What is fusion?", "panel": PANEL, "judge": "vendor/judge", "web": False}
CALL_TIMEOUT_S = 60.0


def script_panel(llm: ScriptedLLMServer) -> None:
    llm.script("vendor/a", Text("alpha draft", cost=0.002))
    llm.script("vendor/b", Text("beta draft", cost=0.003))
    llm.script("vendor/judge", echo_judge)


class Notes:
    """Progress notifications as the client received them."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.values: list[float] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.values.append(progress)
        self.messages.append(message or "")


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def check_answered(result: CallToolResult, notes: Notes) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    run = result.structured_content
    assert run is not None
    assert run["status"] == "ok"
    assert "alpha draft" in run["answer"] and "beta draft" in run["answer"]
    assert run["answer"] in text_of(result)
    assert [m["model"] for m in sorted(run["models"], key=lambda m: m["model"])] == PANEL
    assert run["analysis"]["consensus"] == ["every response answered"]
    assert run["usage"]["cost_usd"] >= 0.002 + 0.003 - 1e-9  # the drafts' scripted cost
    for model in PANEL:
        started = [m for m in notes.messages if m.startswith(f"{model}: started")]
        done = [m for m in notes.messages if m.startswith(f"{model}: draft done")]
        assert started and done, notes.messages
    assert any(m.startswith("judge") for m in notes.messages)
    assert notes.values == sorted(set(notes.values)), "progress must grow with each note"
    return run


async def test_every_tool_has_a_description_and_described_typed_arguments() -> None:
    async with Client(build_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) >= {"ask_panel", "estimate_cost", "get_run", "resume_run", "list_runs"}
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40, tool.name
        properties = tool.input_schema["properties"]
        assert properties, tool.name
        for name, schema in properties.items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
            assert "type" in schema or "anyOf" in schema, f"{tool.name}.{name} has no type"
        assert tool.output_schema is not None, tool.name
    ask = tools["ask_panel"].input_schema
    assert ask["required"] == ["question"]


async def test_the_run_tools_take_every_serve_option_as_context_describes_it() -> None:
    """One home: ask_panel and estimate_cost take `fusion serve`'s options, named,
    typed and described by the `Context` fields, so a new field needs no copy here."""
    async with Client(build_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    serve = option_fields("serve")
    assert serve, "Context offers serve no option"
    for name, own in (("ask_panel", ["background"]), ("estimate_cost", [])):
        properties = tools[name].input_schema["properties"]
        assert list(properties) == ["question", *(f.name for f in serve), *own], name
        for field in serve:
            described = properties[field.name]["description"]
            assert described.startswith(field.metadata["description"]), field.name
            assert properties[field.name]["default"] is None, field.name


async def test_an_option_mcp_once_left_out_reaches_the_panel(llm_env: ScriptedLLMServer) -> None:
    script_panel(llm_env)
    arguments = {**ASK, "temperature": 0.3, "max_completion_tokens": 300}
    async with Client(build_server()) as client:
        result = await client.call_tool("ask_panel", arguments, read_timeout_seconds=CALL_TIMEOUT_S)
    assert not result.is_error, text_of(result)
    for model in PANEL:
        body = llm_env.requests_for(model)[0].body
        assert body["temperature"] == 0.3
        assert body.get("max_completion_tokens", body.get("max_tokens")) == 300


async def test_ask_panel_over_stdio_answers_with_progress_and_the_run_can_be_read(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    script_panel(llm_env)
    notes = Notes()
    async with Client(stdio_params(mcp_env(llm_env, tmp_path))) as client:
        result = await client.call_tool(
            "ask_panel", ASK, read_timeout_seconds=CALL_TIMEOUT_S, progress_callback=notes
        )
        run = check_answered(result, notes)
        shown = await client.call_tool("get_run", {"thread_id": run["thread_id"]})
        listed = await client.call_tool("list_runs", {"limit": 5})
        resource = await client.read_resource(f"fusion://runs/{run['thread_id']}")
    assert not shown.is_error
    assert shown.structured_content is not None
    assert shown.structured_content["question"] == "What is fusion?"
    assert "alpha draft" in text_of(shown) and "## Analysis" in text_of(shown)
    assert listed.structured_content is not None
    assert [r["thread_id"] for r in listed.structured_content["runs"]] == [run["thread_id"]]
    assert "beta draft" in getattr(resource.contents[0], "text", "")


async def test_ask_panel_over_streamable_http(
    llm_env: ScriptedLLMServer, mcp_http: HttpMcpServer
) -> None:
    script_panel(llm_env)
    notes = Notes()
    async with Client(mcp_http.url) as client:
        result = await client.call_tool(
            "ask_panel", ASK, read_timeout_seconds=CALL_TIMEOUT_S, progress_callback=notes
        )
        run = check_answered(result, notes)
        presets = await client.read_resource("fusion://presets")
    assert saved_writes(mcp_http.db, run["thread_id"], "responses") >= 3
    assert "## quality" in getattr(presets.contents[0], "text", "")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"question": "  "}, "prompt is empty"),
        ({"question": "Q?", "preset": "nope"}, "unknown preset 'nope'"),
        ({"question": "Q?", "panel": [f"vendor/m{i}" for i in range(9)]}, "drop some `panel`"),
        ({"question": "Q?", "search_provider": "searxng"}, "run with `web=false`"),
        ({"question": "Q?", "search_max_results": 50}, "search_max_results is 50: use 1 to 20"),
        ({"question": "Q?", "research": "nope"}, "research is 'nope': give one of agentic"),
    ],
)
async def test_bad_input_is_a_one_line_tool_error(
    llm_env: ScriptedLLMServer, arguments: dict[str, Any], expected: str
) -> None:
    async with Client(build_server()) as client:
        result = await client.call_tool("ask_panel", arguments)
    assert result.is_error
    message = text_of(result)
    assert expected in message and "\n" not in message
    assert " --" not in message  # a tool's arguments, never the CLI's flags
    assert llm_env.requests_for("vendor/judge") == []


async def test_unknown_run_is_a_tool_error_naming_the_fix() -> None:
    async with Client(build_server()) as client:
        result = await client.call_tool("get_run", {"thread_id": "no-such-run"})
    assert result.is_error
    assert "fusion runs" in text_of(result) or "list_runs" in text_of(result)


async def test_estimate_cost_calls_no_model(
    llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUSION_BASE_URL", raising=False)  # OpenRouter's list prices apply
    async with Client(build_server()) as client:
        result = await client.call_tool("estimate_cost", {"question": "Q?", "preset": "budget"})
    assert not result.is_error, text_of(result)
    estimate = result.structured_content
    assert estimate is not None
    assert 0 < estimate["low_usd"] <= estimate["high_usd"]
    assert "expected cost" in text_of(result)
    assert llm.requests == []


async def test_cancelled_call_stops_the_run_and_resume_run_pays_only_what_is_missing(
    llm_env: ScriptedLLMServer, mcp_http: HttpMcpServer
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/b", Hang())
    notes = Notes()
    async with Client(mcp_http.url) as client:
        with anyio.move_on_after(CALL_TIMEOUT_S) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(
                    lambda: client.call_tool("ask_panel", ASK, progress_callback=notes)
                )
                await wait_until(lambda: bool(llm_env.requests_for("vendor/b")), "the hang")
                await wait_until(
                    lambda: any(m.startswith("vendor/a: draft done") for m in notes.messages),
                    "vendor/a's draft",
                )
                group.cancel_scope.cancel()  # the client gives up on the call
        assert not scope.cancelled_caught
        (hanging,) = llm_env.requests_for("vendor/b")
        await wait_until(lambda: hanging.disconnected, "the server to drop the hanging call")
        assert llm_env.requests_for("vendor/judge") == []

        runs = await client.call_tool("list_runs", {})
        assert runs.structured_content is not None
        (stored,) = runs.structured_content["runs"]
        assert stored["status"] == "interrupted"
        llm_env.script("vendor/b", Text("beta draft"))
        llm_env.script("vendor/judge", echo_judge)
        resumed = await client.call_tool(
            "resume_run", {"thread_id": stored["thread_id"]}, read_timeout_seconds=CALL_TIMEOUT_S
        )
    assert not resumed.is_error, text_of(resumed)
    assert resumed.structured_content is not None
    assert resumed.structured_content["status"] == "ok"
    assert resumed.structured_content["question"] == ASK["question"]
    assert len(llm_env.requests_for("vendor/a")) == 1  # paid once, kept by the checkpoint
    assert len(llm_env.requests_for("vendor/b")) == 2  # the cancelled call, then the resumed one


async def test_killed_server_then_resume_run_on_a_new_one_repays_no_draft(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/b", Hang())
    env = mcp_env(llm_env, tmp_path)
    first = start_http_server(env, tmp_path)
    thread_id = ""
    try:
        async with Client(first.url) as client:
            started = await client.call_tool("ask_panel", {**ASK, "background": True})
            assert started.structured_content is not None
            assert started.structured_content["status"] == "running"
            thread_id = started.structured_content["thread_id"]
            await wait_until(lambda: bool(llm_env.requests_for("vendor/b")), "the hang")
            await wait_until(
                lambda: saved_writes(first.db, thread_id, "responses") >= 2, "a's saved draft"
            )
            polled = await client.call_tool("get_run", {"thread_id": thread_id})
            assert polled.structured_content is not None
            assert polled.structured_content["status"] == "running"
            os.kill(first.proc.pid, signal.SIGKILL)
            first.proc.wait(timeout=30)
    except (httpx.HTTPError, anyio.ClosedResourceError, ExceptionGroup):
        pass  # the client notices the dead server while closing its session
    finally:
        stop(first)
    assert thread_id

    llm_env.script("vendor/b", Text("beta draft"))
    llm_env.script("vendor/judge", echo_judge)
    second = start_http_server(env, tmp_path)
    try:
        async with Client(second.url) as client:
            resumed = await client.call_tool(
                "resume_run", {"thread_id": thread_id}, read_timeout_seconds=CALL_TIMEOUT_S
            )
    finally:
        stop(second)
    assert not resumed.is_error, text_of(resumed)
    assert resumed.structured_content is not None
    assert resumed.structured_content["status"] == "ok"
    assert len(llm_env.requests_for("vendor/a")) == 1  # the finished draft was not re-paid
    assert "beta draft" in resumed.structured_content["answer"]


async def test_a_request_from_a_fusion_panel_is_refused(
    llm_env: ScriptedLLMServer, mcp_http: HttpMcpServer
) -> None:
    script_panel(llm_env)
    headers = {"X-Fusion-Depth": "1"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=CALL_TIMEOUT_S) as http,
        Client(streamable_http_client(mcp_http.url, http_client=http)) as client,  # type: ignore[arg-type]
    ):
        result = await client.call_tool("ask_panel", ASK)
    assert result.is_error
    assert "nested fusion" in text_of(result)
    assert llm_env.requests_for("vendor/a") == []


async def test_over_http_a_server_key_is_required_as_a_bearer_token(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    script_panel(llm_env)
    env = mcp_env(llm_env, tmp_path) | {"FUSION_SERVER_API_KEY": "mcp-key"}
    server = start_http_server(env, tmp_path)
    try:
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        async with httpx.AsyncClient(timeout=CALL_TIMEOUT_S) as http:
            for headers in ({}, {"Authorization": "Bearer wrong-key"}):
                refused = await http.post(server.url, json=initialize, headers=headers)
                assert refused.status_code == 401
                assert "Authorization: Bearer <FUSION_SERVER_API_KEY>" in refused.text
        assert llm_env.requests == []
        keyed = {"Authorization": "Bearer mcp-key"}
        async with (
            httpx.AsyncClient(headers=keyed, timeout=CALL_TIMEOUT_S) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,  # type: ignore[arg-type]
        ):
            result = await client.call_tool("ask_panel", ASK)
        assert not result.is_error, text_of(result)
    finally:
        stop(server)


def test_mcp_without_the_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fusion.cli.main import main

    for name in [m for m in sys.modules if m.startswith("fusion.mcp")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    assert main(["mcp"]) == 2
    assert (
        capsys.readouterr().err
        == 'fusion mcp needs the mcp extra: pip install "fusion-panel[mcp]"\n'
    )

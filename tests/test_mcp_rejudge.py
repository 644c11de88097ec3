"""MCP `rejudge_run`, driven by the SDK's client: the judge only, in a new run."""

from __future__ import annotations

from mcp import Client

from fusion.api import fuse
from fusion.mcp import build_server
from tests.fixtures.llm_replies import Error, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

PANEL = ["vendor/a", "vendor/b"]


async def test_rejudge_run_judges_the_stored_drafts_again_without_the_panel(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/a", Text("alpha draft", cost=0.002))
    llm_env.script("vendor/b", Text("beta draft", cost=0.003))
    llm_env.script("vendor/judge", lambda r: Error(400, "context too long"))
    failed = await fuse("What is fusion?", panel=PANEL, judge="vendor/judge", web=False)
    assert failed.status == "failed" and failed.thread_id

    llm_env.reset()
    llm_env.script("vendor/judge-2", echo_judge)
    async with Client(build_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool(
            "rejudge_run", {"thread_id": failed.thread_id, "judge": "vendor/judge-2"}
        )
        unknown = await client.call_tool("rejudge_run", {"thread_id": "no-such-run"})

    schema = tools["rejudge_run"].input_schema
    assert schema["required"] == ["thread_id"] and set(schema["properties"]) == {
        "thread_id",
        "judge",
    }
    assert all(p.get("description") for p in schema["properties"].values())
    assert not result.is_error
    run = result.structured_content
    assert run is not None
    assert run["status"] == "ok" and "alpha draft" in run["answer"]
    assert run["question"] == "What is fusion?"
    assert run["thread_id"] != failed.thread_id and run["rejudge_of"] == failed.thread_id
    assert [r.model for r in llm_env.requests] == ["vendor/judge-2"]  # no panel request
    assert unknown.is_error
    assert "no run 'no-such-run'" in str(unknown.content[0])

"""Fusion on the real LangGraph server (`langgraph dev`, in-memory runtime), through
`langgraph-sdk` as a deployment's clients and Studio see it.

One server for the module (`langgraph_dev`), pointed at the session's scripted model
and web servers. The streamed run on a thread is made once (`streamed_run`) and read
by several tests; the other tests script their own models through `llm`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode

import fusion.core.state as state_module
from fusion.core.events import ANSWER_TAG
from tests.fixtures.langgraph_dev import LangGraphDev, langgraph_dev
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, researcher
from tests.fixtures.stream_parts import Part, chunk_text, split_event
from tests.fixtures.web_server import ScriptedWebServer

__all__ = ["langgraph_dev"]  # the fixture, registered for this module by the import

GRAPH_ID = "fusion"
PANEL = ["vendor/a", "vendor/b"]
JUDGE = "vendor/judge"
CONTEXT: dict[str, Any] = {"panel": PANEL, "judge": JUDGE, "web": True}
QUESTION = "Do sea otters hold hands?"
FACT = "FACT: sea otters hold hands while they sleep"
PAGE = f"""<html><head><title>Sea otters</title></head><body><article>
<h1>Sea otters</h1><p>Sea otters rest in groups called rafts. So that they do not drift
apart while they sleep, they wrap themselves in kelp or hold each other's paws.</p>
<p>{FACT}</p></article></body></html>"""
TIMEOUT_S = 60.0  # per HTTP read; a scripted run takes about a second
STREAM_MODES: list[StreamMode] = ["custom", "messages-tuple", "updates"]
PANEL_NODES = {"model", "search", "fetch", "draft"}
TOP_NODES = {"fan_out", "panelist", "join", "judge"}
PROGRESS_EVENTS = {
    "panelist_started",
    "tool_call",
    "tool_result",
    "draft_done",
    "judge_started",
    "judge_done",
}


@dataclass(frozen=True)
class StreamedRun:
    thread_id: str
    parts: list[Part]
    streamed_calls: dict[str, list[bool]]  # model -> whether each of its calls streamed

    def of(self, mode: str) -> list[Part]:
        return [p for p in self.parts if p.mode == mode]

    def messages(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(p.data[0], p.data[1]) for p in self.of("messages")]


def script_researchers(llm: ScriptedLLMServer, web: ScriptedWebServer) -> None:
    """Both panelists search, fetch the page found, and answer with its fact."""
    url = web.page("/otters", PAGE)
    web.on_search([{"title": "Sea otters", "url": url, "content": "Sea otters rest in rafts."}])
    for model in PANEL:
        llm.script(model, researcher("sea otters sleep", f"{model}: "))
    llm.script(JUDGE, echo_judge)


async def assistant_id(client: LangGraphClient) -> str:
    (assistant,) = await client.assistants.search(graph_id=GRAPH_ID)
    return str(assistant["assistant_id"])


@pytest.fixture
async def client(langgraph_dev: LangGraphDev) -> AsyncIterator[LangGraphClient]:
    """An SDK client on the server; `api_key=None` so no LangSmith key is sent."""
    client = get_client(url=langgraph_dev.url, api_key=None, timeout=TIMEOUT_S)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def streamed_run(
    langgraph_dev: LangGraphDev, llm_server: ScriptedLLMServer, web_server: ScriptedWebServer
) -> Iterator[StreamedRun]:
    """One run on a thread with context (panel, judge, web), streamed with subgraphs."""
    llm_server.reset()
    web_server.reset()
    script_researchers(llm_server, web_server)

    async def stream() -> StreamedRun:
        client = get_client(url=langgraph_dev.url, api_key=None, timeout=TIMEOUT_S)
        async with client, asyncio.timeout(2 * TIMEOUT_S):
            thread = await client.threads.create()
            parts = [
                Part(*split_event(part.event), part.data)
                async for part in client.runs.stream(
                    thread["thread_id"],
                    GRAPH_ID,
                    input={"prompt": QUESTION},
                    context=CONTEXT,
                    stream_mode=STREAM_MODES,
                    stream_subgraphs=True,
                )
            ]
        streamed = {m: [r.stream for r in llm_server.requests_for(m)] for m in [*PANEL, JUDGE]}
        return StreamedRun(thread["thread_id"], parts, streamed)

    run = asyncio.run(stream())
    yield run
    llm_server.reset()
    web_server.reset()


# -- runs ----------------------------------------------------------------------------


async def test_a_run_without_a_thread_returns_the_fused_answer(
    client: LangGraphClient, llm: ScriptedLLMServer
) -> None:
    for model in PANEL:
        llm.script(model, Text(f"draft by {model}"))
    llm.script(JUDGE, echo_judge)

    context: dict[str, Any] = {"panel": PANEL, "judge": JUDGE, "web": False}
    output = await client.runs.wait(None, GRAPH_ID, input={"prompt": QUESTION}, context=context)

    assert isinstance(output, dict)
    assert output["status"] == "ok", output
    assert output["answer"] and all(f"draft by {m}" in output["answer"] for m in PANEL)
    assert sorted(r["model"] for r in output["responses"]) == PANEL
    assert output["failed_models"] == []
    assert output["usage"]["total_tokens"] > 0
    assert sorted(r.model for r in llm.requests) == sorted([*PANEL, JUDGE])  # one judge call
    assert QUESTION in llm.requests_for(PANEL[0])[0].text


async def test_an_empty_prompt_is_a_failed_run_with_a_clear_error_not_a_crash(
    client: LangGraphClient, langgraph_dev: LangGraphDev, llm: ScriptedLLMServer
) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], GRAPH_ID, input={"prompt": "   "}, context=CONTEXT
    )
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    finished = await client.runs.get(thread["thread_id"], run["run_id"])
    stateless = await client.runs.wait(
        None, GRAPH_ID, input={"prompt": ""}, context=CONTEXT, raise_error=False
    )

    assert finished["status"] == "error"
    for output in (joined, stateless):
        assert isinstance(output, dict)
        error = output["__error__"]
        assert error["error"] == "ConfigError"
        assert "prompt is empty" in error["message"]
    assert llm.requests == []  # refused before any model call
    async with httpx.AsyncClient() as http:  # the server is still up and serving
        assert (await http.get(f"{langgraph_dev.url}/ok")).status_code == 200


# -- the streamed run ----------------------------------------------------------------


def test_the_stream_carries_every_progress_event(streamed_run: StreamedRun) -> None:
    events = [p.data for p in streamed_run.of("custom")]
    names = [e["event"] for e in events]

    assert set(names) >= PROGRESS_EVENTS, names
    assert not streamed_run.of("error")
    assert sorted(e["model"] for e in events if e["event"] == "panelist_started") == PANEL
    calls = [e for e in events if e["event"] == "tool_call"]
    assert sorted((e["model"], e["tool"]) for e in calls) == sorted(
        (m, t) for m in PANEL for t in ("web_search", "web_fetch")
    )
    assert {e["query"] for e in calls if e["tool"] == "web_search"} == {"sea otters sleep"}
    assert all(e["url"].endswith("/otters") for e in calls if e["tool"] == "web_fetch")
    results = [e for e in events if e["event"] == "tool_result"]
    assert len(results) == 4 and all(e["chars"] > 0 and not e["error"] for e in results)
    drafts = {e["model"]: e for e in events if e["event"] == "draft_done"}
    assert sorted(drafts) == PANEL
    assert all(d["tool_calls"] == 2 and d["completion_tokens"] > 0 for d in drafts.values())
    (started,) = [e for e in events if e["event"] == "judge_started"]
    # the scripted server is no known local server: the judge calls its function
    assert started == {
        "event": "judge_started",
        "model": JUDGE,
        "drafts": 2,
        "method": "function_calling",
    }
    (done,) = [e for e in events if e["event"] == "judge_done"]
    assert done["status"] == "ok"
    # a panelist's progress comes from inside its subgraph, the judge's from the top
    panel_parts = [p for p in streamed_run.of("custom") if p.data.get("model") in PANEL]
    assert all(p.in_panel for p in panel_parts)
    assert names.index("judge_started") > max(i for i, n in enumerate(names) if n == "draft_done")


def test_updates_come_from_the_top_nodes_and_from_inside_the_panel(
    streamed_run: StreamedRun,
) -> None:
    top = [node for p in streamed_run.of("updates") if not p.namespace for node in p.data]
    inner: dict[str, set[str]] = {}
    for p in streamed_run.of("updates"):
        if p.in_panel:
            inner.setdefault(p.namespace[0], set()).update(p.data)

    assert set(top) == TOP_NODES
    assert top.count("panelist") == len(PANEL)
    assert top.index("fan_out") < top.index("join") < top.index("judge")
    assert len(inner) == len(PANEL)  # one namespace per panelist branch
    assert all(nodes == PANEL_NODES for nodes in inner.values()), inner


def test_messages_tuple_events_carry_node_metadata(streamed_run: StreamedRun) -> None:
    messages = streamed_run.messages()

    assert messages
    assert all("langgraph_node" in metadata for _, metadata in messages)
    nodes = {metadata["langgraph_node"] for _, metadata in messages}
    assert "judge" in nodes
    # with subgraphs on, the panelists' inner messages are there too, to filter out
    assert any(p.in_panel for p in streamed_run.of("messages"))


def test_the_judge_streams_its_answer_alone_in_several_chunks(
    streamed_run: StreamedRun,
) -> None:
    by_node = [
        (p.namespace, m, meta)
        for p in streamed_run.of("messages")
        for m, meta in [p.data]
        if meta.get("langgraph_node") == "judge"
    ]
    by_tag = [
        (p.namespace, m, meta)
        for p in streamed_run.of("messages")
        for m, meta in [p.data]
        if ANSWER_TAG in (meta.get("tags") or [])
    ]
    texts = [chunk_text(m) for _, m, _ in by_tag]

    # several chunks, as the scripted server streams them, and nothing else
    assert len([t for t in texts if t]) > 1, texts
    assert by_tag == by_node
    assert all(not namespace for namespace, _, _ in by_tag)  # none from a panelist
    assert {m.get("id") for _, m, _ in by_tag} == {by_tag[0][1].get("id")}  # one message
    assert all(not m.get("tool_call_chunks") and not m.get("tool_calls") for _, m, _ in by_tag)
    assert all(m.get("type") == "AIMessageChunk" for _, m, _ in by_tag)
    # the judge's one call (analysis, then answer) streams; panelists' calls don't
    assert streamed_run.streamed_calls[JUDGE] == [True]
    assert not any(s for m in PANEL for s in streamed_run.streamed_calls[m])
    assert "".join(texts).startswith("Fused answer:")
    assert all(f"{m}: {FACT}" in "".join(texts) for m in PANEL)


async def test_the_thread_holds_the_result_and_its_history(
    client: LangGraphClient, streamed_run: StreamedRun
) -> None:
    state = await client.threads.get_state(streamed_run.thread_id)
    history = await client.threads.get_history(streamed_run.thread_id, limit=50)

    values = state["values"]
    assert isinstance(values, dict)
    assert state["next"] == []
    assert values["status"] == "ok"
    judge_text = "".join(
        chunk_text(m)
        for m, meta in streamed_run.messages()
        if ANSWER_TAG in (meta.get("tags") or [])
    )
    assert values["answer"] == judge_text.strip()
    assert set(values["analysis"]) == {
        "consensus",
        "contradictions",
        "partial_coverage",
        "unique_insights",
        "blind_spots",
    }
    assert {i["model"] for i in values["analysis"]["unique_insights"]} == set(PANEL)
    assert sorted(r["model"] for r in values["responses"]) == PANEL
    for response in values["responses"]:
        assert response["status"] == "ok"
        assert response["text"] == f"{response['model']}: {FACT}"
        assert response["tool_calls"] == 2
        assert any(
            s["via"] == "fetch" and s["url"].endswith("/otters") for s in response["sources"]
        )
    usage = values["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert usage["total_tokens"] >= sum(r["usage"]["total_tokens"] for r in values["responses"])

    assert len(history) >= 4
    assert history[0]["checkpoint"] == state["checkpoint"]  # newest first
    stepped = {node for checkpoint in history for node in checkpoint["next"]}
    assert stepped >= TOP_NODES


# -- the assistant as Studio sees it --------------------------------------------------


async def test_the_graph_shows_the_design_nodes_and_the_panel_subgraph(
    client: LangGraphClient,
) -> None:
    assistant = await assistant_id(client)
    flat = await client.assistants.get_graph(assistant)
    xray = await client.assistants.get_graph(assistant, xray=True)

    flat_ids = {n["id"] for n in flat["nodes"]}
    assert flat_ids >= TOP_NODES
    ids = {n["id"] for n in xray["nodes"]}
    inner = {f"panelist:{n}" for n in PANEL_NODES}
    assert {"fan_out", "join", "judge"} | inner <= ids, ids
    edges = {(e["source"], e["target"]) for e in xray["edges"]}
    assert {
        ("panelist:model", "panelist:search"),
        ("panelist:search", "panelist:model"),
        ("panelist:model", "panelist:fetch"),
        ("panelist:fetch", "panelist:model"),
        ("panelist:model", "panelist:draft"),
        ("panelist:draft", "join"),
        ("join", "judge"),
    } <= edges, edges
    assert ("fan_out", "panelist:__start__") in edges


def _undescribed(schema: dict[str, Any], where: str) -> list[str]:
    return [
        f"{where}.{name}"
        for name, prop in (schema.get("properties") or {}).items()
        if not (isinstance(prop, dict) and prop.get("description"))
    ]


async def test_schemas_describe_every_input_output_and_context_field(
    client: LangGraphClient,
) -> None:
    schemas = await client.assistants.get_schemas(await assistant_id(client))

    missing: list[str] = []
    for key in ("input_schema", "output_schema", "context_schema"):
        schema = schemas.get(key)
        assert isinstance(schema, dict) and schema.get("properties"), (key, schema)
        missing += _undescribed(schema, key)
        # Fusion's own nested types (Response, Usage, ...), not LangChain's messages
        for name, definition in (schema.get("$defs") or {}).items():
            if name in vars(state_module):
                missing += _undescribed(definition, f"{key}.$defs.{name}")
    assert not missing, f"fields without a description: {missing}"

    assert schemas["input_schema"] is not None and schemas["output_schema"] is not None
    assert {"prompt", "messages"} <= set(schemas["input_schema"]["properties"])
    assert {"status", "answer", "analysis", "responses", "failed_models", "usage"} <= set(
        schemas["output_schema"]["properties"]
    )
    context = schemas["context_schema"]
    assert context is not None
    properties = context["properties"]
    assert {"panel", "judge", "web", "deadline_s", "quorum", "max_tool_calls"} <= set(properties)
    without_default = [name for name, prop in properties.items() if "default" not in prop]
    assert not without_default, f"context fields without a default: {without_default}"
    assert properties["panel"]["default"] == [] and properties["web"]["default"] is True


# -- last: what the server said while serving this module ------------------------------


def test_the_server_log_has_no_blocking_call(langgraph_dev: LangGraphDev) -> None:
    """`langgraph dev` raises (and logs) a BlockingError on synchronous IO in the event
    loop. This runs last in the module, after every run above."""
    log = langgraph_dev.log_text()
    hits = [
        line
        for line in log.splitlines()
        if "Blocking" in line or "synchronous blocking call" in line
    ]
    assert langgraph_dev.url in log  # the banner: this is the server's own output
    assert not hits, json.dumps(hits[:5], indent=1)

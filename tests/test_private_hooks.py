"""The places Fusion reaches past a library's public API, each pinned in
pyproject.toml and checked here, so a release that changes them fails loudly here
instead of silently in production.

- httpx: `GuardedTransport` replaces `AsyncHTTPTransport._pool` so every connection
  goes through the address guard (tools/netguard.py).
- langgraph-prebuilt: the panelist `Send`s each tool call to its ToolNode as a
  `ToolCallWithContext` (nodes/panelist.py), a shape `langgraph.prebuilt` uses for
  its own agents but does not export.
- langchain-openai: `CostAwareChatOpenAI` overrides the private
  `_convert_chunk_to_generation_chunk` to keep a streamed reply's reported cost,
  and sends whole replies through the SDK's `post()` with the private
  `_get_request_payload` and `_create_chat_result` (core/providers.py).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallWithContext
from langgraph.types import Send

from fusion.core.providers import CostAwareChatOpenAI, chat_model
from fusion.core.settings import load_settings
from fusion.tools import web_search
from fusion.tools.netguard import AddressRefused, GuardedTransport
from tests.fixtures.llm_replies import Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.web_server import ScriptedWebServer

HTTPX_HOOK = (
    "httpx no longer sends requests through AsyncHTTPTransport._pool: web_fetch's "
    "address guard (tools/netguard.py) is bypassed. Fix GuardedTransport before "
    "raising the httpx bound in pyproject.toml."
)


async def _get(url: str, *, allow_private: bool) -> httpx.Response:
    transport = GuardedTransport(
        allow_private=allow_private, ssl_context=ssl.create_default_context()
    )
    async with httpx.AsyncClient(transport=transport) as client:
        return await client.get(url)


async def test_httpx_sends_every_request_through_the_guarded_pool(web: ScriptedWebServer) -> None:
    web.page("/hook", "reached", content_type="text/plain")
    by_name = (
        f"http://localhost:{web.port}/hook"  # a name: only the guard's resolver sees 127.0.0.1
    )

    try:
        await _get(by_name, allow_private=False)
    except AddressRefused as exc:
        assert "127.0.0.1" in str(exc)
    else:
        pytest.fail(HTTPX_HOOK)
    assert web.hits("/hook") == 0, HTTPX_HOOK

    reply = await _get(by_name, allow_private=True)  # and the guarded pool does connect
    assert reply.text == "reached"


async def test_tool_node_runs_a_sent_tool_call_with_its_context() -> None:
    """What the panelist relies on: a ToolNode reached by `Send(ToolCallWithContext)`
    runs the one call it carries, with the sender's state, and returns its message."""

    @tool
    def echo(text: str) -> str:
        """Echo the text."""
        return f"echo: {text}"

    def send_calls(state: MessagesState) -> list[Send]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        return [
            Send(
                "tools",
                ToolCallWithContext(__type="tool_call_with_context", tool_call=call, state=state),
            )
            for call in last.tool_calls
        ]

    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([echo]))
    graph.add_conditional_edges(START, send_calls, ["tools"])
    calls = [{"name": "echo", "args": {"text": t}, "id": t} for t in ("a", "b")]
    out: dict[str, Any] = await graph.compile().ainvoke(
        {"messages": [AIMessage("", tool_calls=calls)]}
    )

    replies = sorted(
        (m.tool_call_id, m.content) for m in out["messages"] if isinstance(m, ToolMessage)
    )
    assert replies == [("a", "echo: a"), ("b", "echo: b")], (
        "langgraph.prebuilt's ToolNode no longer runs a Send(ToolCallWithContext): "
        "nodes/panelist.py's tool routing is broken; fix it before raising the "
        "langgraph-prebuilt bound in pyproject.toml"
    )


async def test_a_streamed_reply_keeps_the_providers_reported_cost(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/streamer", Text("streamed words", cost=0.0123))
    llm = chat_model("vendor/streamer", load_settings(), stream=True)

    chunks = [chunk async for chunk in llm.astream("hello")]

    text = "".join(str(c.content) for c in chunks)
    costs = [(c.response_metadata.get("token_usage") or {}).get("cost") for c in chunks]
    assert text == "streamed words"
    assert 0.0123 in costs, (
        "langchain-openai no longer calls ChatOpenAI._convert_chunk_to_generation_chunk "
        "for the stream's usage chunk: streamed calls lose the provider's cost. Fix "
        "CostAwareChatOpenAI (core/providers.py) before raising the langchain-openai bound"
    )


async def test_a_whole_reply_through_post_is_the_reply_create_gives(
    llm_env: ScriptedLLMServer,
) -> None:
    reply = ToolCalls([("web_search", {"query": "q"})], cost=0.02)
    llm_env.script("vendor/whole", reply, reply)
    llm = chat_model("vendor/whole", load_settings(), temperature=0.2, max_completion_tokens=50)
    assert isinstance(llm, CostAwareChatOpenAI)
    bound = llm.bind_tools([web_search])
    assert isinstance(bound, RunnableBinding)
    asked = [HumanMessage("hello")]

    by_post = await llm._agenerate(asked, **bound.kwargs)
    by_create = await ChatOpenAI._agenerate(llm, asked, **bound.kwargs)
    posted, created = by_post.generations[0].message, by_create.generations[0].message

    via_post, via_create = llm_env.requests_for("vendor/whole")
    broken = (
        "langchain-openai's _get_request_payload or _create_chat_result changed: "
        "CostAwareChatOpenAI._agenerate (core/providers.py) no longer sends or reads "
        "what chat.completions.create() does. Fix it before raising the bound"
    )
    assert via_post.body == via_create.body, broken
    assert isinstance(posted, AIMessage) and isinstance(created, AIMessage)

    def seen(message: AIMessage) -> tuple[Any, ...]:  # tool call IDs are the server's count
        calls = [(c["name"], c["args"], c["type"]) for c in message.tool_calls]
        return message.text, calls, message.usage_metadata

    assert seen(posted) == seen(created), broken
    assert [call["args"] for call in posted.tool_calls] == [{"query": "q"}]
    assert by_post.llm_output and by_create.llm_output
    cost = by_post.llm_output["token_usage"]["cost"]
    assert cost == by_create.llm_output["token_usage"]["cost"] == 0.02, broken

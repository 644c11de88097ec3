"""Streaming: the judge's answer token by token in `messages` mode, nothing else.

Clients (Studio, `fusion serve`, a parent graph) pick the answer out of `messages`
mode by node (`judge`) or by tag (`fusion:answer`); panelists' calls are whole
replies and the judge's structured analysis is hidden, so neither leaks in.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage

from fusion.api import make_context, stream_run
from fusion.core.events import ANSWER_TAG
from fusion.graph import graph
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

PANEL = ["vendor/a", "vendor/b"]


def script(llm: ScriptedLLMServer) -> None:
    llm.script("vendor/a", Text("alpha says the sky is blue"))
    llm.script("vendor/b", Text("beta says the sky is grey"))
    llm.script("vendor/judge", echo_judge)


async def messages_of(payload: dict[str, Any]) -> tuple[list[tuple[Any, dict[str, Any]]], Any]:
    """Every `messages` event of a run with subgraphs, and the final state."""
    events: list[tuple[Any, dict[str, Any]]] = []
    final: Any = None
    context = make_context(panel=PANEL, judge="vendor/judge", web=False)
    async for _ns, mode, data in graph.astream(
        payload, context=context, stream_mode=["messages", "values"], subgraphs=True
    ):
        if mode == "messages":
            events.append(data)
        elif not _ns:
            final = data
    return events, final


async def test_judge_answer_streams_in_several_chunks_and_nothing_else_does(
    llm_env: ScriptedLLMServer,
) -> None:
    script(llm_env)
    events, final = await messages_of({"prompt": "What colour is the sky?"})

    by_tag = [m for m, meta in events if ANSWER_TAG in meta.get("tags", [])]
    by_node = [
        m
        for m, meta in events
        if meta["langgraph_node"] == "judge" and isinstance(m, AIMessageChunk)
    ]
    assert len(by_tag) > 1
    assert by_node == by_tag
    assert "".join(m.text for m in by_tag) == final["answer"]
    # no token chunk from a panelist, and the analysis (a tool call) never shows
    assert all(
        meta["langgraph_node"] == "judge" for m, meta in events if isinstance(m, AIMessageChunk)
    )
    assert not any(getattr(m, "tool_call_chunks", None) for m, _ in events)
    assert final["analysis"]["consensus"] == ["every response answered"]


async def test_a_conversation_gets_the_streamed_answer_once_not_twice(
    llm_env: ScriptedLLMServer,
) -> None:
    script(llm_env)
    events, final = await messages_of({"messages": [HumanMessage("What colour is the sky?")]})

    judge_messages = [m for m, meta in events if meta["langgraph_node"] == "judge"]
    assert len({m.id for m in judge_messages}) == 1  # chunks, not chunks plus a full copy
    assert final["messages"][-1].id == judge_messages[0].id
    assert final["messages"][-1].content == final["answer"]


async def test_stream_run_yields_the_answer_as_it_is_written(llm_env: ScriptedLLMServer) -> None:
    script(llm_env)
    context = make_context(panel=PANEL, judge="vendor/judge", web=False)
    seen: list[str] = []
    pieces: list[str] = []
    final: dict[str, Any] = {}
    async for kind, data in stream_run({"prompt": "Sky?"}, context, None, "t-1"):
        if kind == "answer":
            pieces.append(data)
            seen.append("answer")
        elif kind == "custom":
            seen.append(data["event"])
        else:
            final = data
    assert len(pieces) > 1 and "".join(pieces) == final["answer"]
    # written between the judge's start and its end, after every draft
    first_token = seen.index("answer")
    assert seen.index("judge_started") < first_token < seen.index("judge_done")
    assert max(i for i, e in enumerate(seen) if e == "draft_done") < first_token

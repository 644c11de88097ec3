"""The examples in examples/ run as documented, against the scripted servers:
Fusion as a node of a `MessagesState` graph, and Fusion as an agent's tool."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from fusion import Context
from fusion.core.providers import chat_model
from fusion.core.settings import load_settings
from tests.fixtures.checkpoints import saved_writes, wait_for
from tests.fixtures.llm_replies import ChatRequest, Hang, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge, responses_in

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONTEXT = Context(panel=["vendor/a", "vendor/b"], judge="vendor/judge", web=False)


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def script_panel(llm: ScriptedLLMServer) -> None:
    llm.script("vendor/a", lambda r: Text(f"a answers: {r.last_message['content']}"))
    llm.script("vendor/b", lambda r: Text(f"b answers: {r.last_message['content']}"))
    llm.script("vendor/judge", echo_judge)


async def test_fusion_as_a_node_ends_the_parent_conversation_with_the_fused_answer(
    llm_env: ScriptedLLMServer,
) -> None:
    script_panel(llm_env)
    assistant = example("panel_node").build_assistant(InMemorySaver())
    config: Any = {"configurable": {"thread_id": "chat"}}

    first = await assistant.ainvoke(
        {"messages": [HumanMessage("Is Pluto a planet?")]}, config, context=CONTEXT
    )
    second = await assistant.ainvoke(
        {"messages": [HumanMessage("Since when?")]}, config, context=CONTEXT
    )

    assert [m.type for m in first["messages"]] == ["human", "ai"]
    assert [m.type for m in second["messages"]] == ["human", "ai", "human", "ai"]
    last = second["messages"][-1]
    judged = responses_in(llm_env.requests_for("vendor/judge")[-1])
    assert last.text.startswith("Fused answer:") and all(t in last.text for t in judged.values())
    # the context came from the parent's invocation, and the first turn reached the panel
    request = llm_env.requests_for("vendor/a")[-1]
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user"]
    assert "Is Pluto a planet?" in request.text
    # Fusion's checkpoints live under the parent's thread, in the node's namespace
    saved = [c async for c in assistant.checkpointer.alist(config)]
    namespaces = {c.config["configurable"]["checkpoint_ns"].split(":")[0] for c in saved}
    assert namespaces == {"", "fusion"}


def test_an_interrupted_turn_resumes_with_the_parent_without_repaying_drafts(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_env.script("vendor/a", Text("draft a"))
    llm_env.script("vendor/b", Text("draft b"))
    llm_env.script("vendor/slow", Hang())
    db = tmp_path / "chat.sqlite"
    command = [sys.executable, str(EXAMPLES / "panel_node.py"), "--thread", "t1", "--db", str(db)]
    command += ["--panel", "vendor/a", "--panel", "vendor/b", "--panel", "vendor/slow"]
    command += ["--judge", "vendor/judge", "--no-web"]

    first = subprocess.Popen([*command, "Q?"], env=dict(os.environ))
    # fan_out's reset of `responses` is one write; each finished panelist adds one
    wait_for(
        lambda: saved_writes(db, "t1", "responses", namespace="fusion:*", nested=False) >= 3,
        "two drafts in the parent's checkpoint",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    llm_env.reset()
    llm_env.script("vendor/slow", Text("draft slow"))
    llm_env.script("vendor/judge", echo_judge)
    resumed = subprocess.run(
        [*command, "--resume"], env=dict(os.environ), capture_output=True, text=True, timeout=120
    )

    assert resumed.returncode == 0, resumed.stderr
    assert llm_env.requests_for("vendor/a") == [] and llm_env.requests_for("vendor/b") == []
    assert len(llm_env.requests_for("vendor/slow")) == 1
    assert all(d in resumed.stdout for d in ("draft a", "draft b", "draft slow"))


async def test_fusion_as_a_tool_answers_through_the_agent(llm_env: ScriptedLLMServer) -> None:
    script_panel(llm_env)

    def agent_model(request: ChatRequest) -> Text | ToolCalls:
        if not request.tool_results:
            assert request.tool_names == ["ask_panel"]
            return ToolCalls([("ask_panel", {"question": "Is Pluto a planet?"})])
        return Text(f"The panel says: {request.tool_results[0]}")

    llm_env.script("vendor/agent", agent_model)
    agent = example("panel_tool").build_agent(chat_model("vendor/agent", load_settings()))

    state = await agent.ainvoke(
        {"messages": [HumanMessage("Pluto: planet or not?")]}, context=CONTEXT
    )

    assert [m.type for m in state["messages"]] == ["human", "ai", "tool", "ai"]
    tool_result = state["messages"][2].text
    assert (
        tool_result.startswith("Fused answer:") and "a answers: Is Pluto a planet?" in tool_result
    )
    assert "Panel disagreed on: wording" in tool_result
    assert state["messages"][-1].text == f"The panel says: {tool_result}"


async def test_a_parent_with_its_own_context_type_passes_the_panel_by_field_name(
    llm_env: ScriptedLLMServer,
) -> None:
    from dataclasses import dataclass, field

    from langgraph.graph import END, START, MessagesState, StateGraph

    from fusion.graph import graph as fusion_graph

    @dataclass
    class AppContext:  # the parent's own context: Fusion reads the fields it knows
        user_id: str
        panel: list[str] = field(default_factory=lambda: ["vendor/b"])
        judge: str = "vendor/judge"
        web: bool = False

    script_panel(llm_env)
    builder = StateGraph(MessagesState, context_schema=AppContext)
    builder.add_node("fusion", fusion_graph)
    builder.add_edge(START, "fusion")
    builder.add_edge("fusion", END)

    state = await builder.compile().ainvoke(
        {"messages": [HumanMessage("Hi?")]}, context=AppContext(user_id="u1")
    )

    assert state["messages"][-1].text == "Fused answer:\nb answers: Hi?"
    assert llm_env.requests_for("vendor/a") == []

"""Fusion as a tool: a tool-calling agent that asks the panel when a question is hard.

The agent's model decides when to call `ask_panel`; the tool runs the Fusion graph
inside the agent's own run, so the panel and judge come from the agent's runtime
context, and with a checkpointer on the agent the panel's checkpoints live under
the agent's thread.

    python examples/panel_tool.py "Should I use SQLite or Postgres for 10k writes/s?" \\
        --agent-model openai/gpt-5-mini --panel openai/gpt-5.5 --panel google/gemini-3-pro \\
        --judge anthropic/claude-opus-5
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, ToolRuntime, tools_condition
from langgraph.types import Checkpointer

from fusion import Context
from fusion.core.providers import chat_model
from fusion.core.settings import load_settings
from fusion.graph import graph as fusion_graph

SYSTEM = (
    "You are a helpful assistant. For hard, contested or fact-heavy questions, call "
    "ask_panel and base your reply on its answer; answer simple questions yourself."
)


@tool
async def ask_panel(question: str, runtime: ToolRuntime[Context]) -> str:
    """Ask a panel of expert models (with web search) for one carefully judged answer.

    Args:
        question: the complete, self-contained question to put to the panel.
    """
    state = await fusion_graph.ainvoke({"prompt": question}, context=runtime.context)
    if not state.get("answer"):
        return f"The panel could not answer ({state.get('failure_reason')})."
    disputed = [c["topic"] for c in (state.get("analysis") or {}).get("contradictions", [])]
    note = f"\n\n(Panel disagreed on: {'; '.join(disputed)}.)" if disputed else ""
    return str(state["answer"]) + note


def build_agent(model: BaseChatModel, checkpointer: Checkpointer = None) -> Any:
    """The classic tool loop: the model, then `ask_panel` while it asks for it."""
    llm = model.bind_tools([ask_panel])

    async def agent(state: MessagesState) -> dict[str, Any]:
        reply = await llm.ainvoke([SystemMessage(SYSTEM), *state["messages"]])
        return {"messages": [reply]}

    builder = StateGraph(MessagesState, context_schema=Context)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([ask_panel]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


async def ask(question: str, agent_model: str, context: Context) -> str:
    agent = build_agent(chat_model(agent_model, load_settings()))
    state = await agent.ainvoke({"messages": [HumanMessage(question)]}, context=context)
    return str(state["messages"][-1].text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question")
    parser.add_argument("--agent-model", required=True, help="the tool-calling model")
    parser.add_argument("--panel", action="append", help="a panel model (repeat)")
    parser.add_argument("--judge")
    parser.add_argument("--no-web", dest="web", action="store_false")
    args = parser.parse_args()
    context = Context(panel=args.panel or [], judge=args.judge, web=args.web)
    print(asyncio.run(ask(args.question, args.agent_model, context)))


if __name__ == "__main__":
    main()

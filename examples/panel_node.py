"""Fusion as a node of your own graph: a chat assistant whose every reply is fused.

The parent's state is plain `MessagesState`. Fusion reads the conversation from
`messages` (the last human message is the question, earlier turns are context) and
appends its answer as an AI message. The panel and judge are the runtime context of
the parent's invocation, and flow into Fusion from there. With a checkpointer on the
parent, Fusion's own checkpoints live under the parent's thread, so a turn that was
interrupted resumes with the parent, without paying again for finished drafts.

    python examples/panel_node.py "Is Pluto a planet?" --thread chat-1 --db chat.sqlite \\
        --panel openai/gpt-5-mini --panel google/gemini-3-flash --judge anthropic/claude-sonnet-5
    python examples/panel_node.py --resume --thread chat-1 --db chat.sqlite   # after a crash
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Checkpointer

from fusion import Context
from fusion.graph import graph as fusion_graph
from fusion.runs import open_checkpointer


def build_assistant(checkpointer: Checkpointer = None) -> Any:
    """A parent graph whose only step is the panel; add your own nodes around it."""
    builder = StateGraph(MessagesState, context_schema=Context)
    builder.add_node("fusion", fusion_graph)
    builder.add_edge(START, "fusion")
    builder.add_edge("fusion", END)
    return builder.compile(checkpointer=checkpointer)


async def chat_turn(
    question: str | None, *, thread_id: str, db: str, context: Context
) -> MessagesState:
    """Ask one question in the conversation `thread_id`, or (`question=None`) resume
    that conversation's interrupted turn."""
    async with open_checkpointer(db) as saver:
        assistant = build_assistant(saver)
        config = {"configurable": {"thread_id": thread_id}}
        payload = None if question is None else {"messages": [HumanMessage(question)]}
        state: MessagesState = await assistant.ainvoke(payload, config, context=context)
        return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?")
    parser.add_argument("--resume", action="store_true", help="finish the interrupted turn")
    parser.add_argument("--thread", required=True, help="the conversation's ID")
    parser.add_argument("--db", default="chat.sqlite", help="the conversation's checkpoints")
    parser.add_argument("--panel", action="append", help="a panel model (repeat)")
    parser.add_argument("--judge")
    parser.add_argument("--no-web", dest="web", action="store_false")
    args = parser.parse_args()
    if (args.question is None) != args.resume:
        parser.error("give a question, or --resume")
    context = Context(panel=args.panel or [], judge=args.judge, web=args.web)
    state = asyncio.run(
        chat_turn(args.question, thread_id=args.thread, db=args.db, context=context)
    )
    print(state["messages"][-1].text)


if __name__ == "__main__":
    main()

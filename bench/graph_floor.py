"""The graph floor: the peer's answer, run as a minimal LangGraph graph of Fusion's shape.

`python -m bench.graph_floor --port P` serves what `bench.peer` serves, with the same
httpx calls, but each answer is a run of this graph, checkpointed in SQLite through
Fusion's own checkpointer, each step committed before the next (`durability="sync"`;
`--no-checkpoints` runs it without a checkpointer):

    START -> fan_out --Send--> panelist (x N) --> join --> judge --> END
                               | model -> draft |

Nothing else of Fusion: no prompts, checks, leases, tools, retries or LangChain model.
So `bench cpu` can split Fusion's CPU per answer into what LangGraph costs for this
shape, what its per-step checkpoints add, and what Fusion spends above that.
"""

from __future__ import annotations

import contextlib
import operator
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability, Send
from typing_extensions import TypedDict

from bench.peer import Answer, Chat, judge_messages, port_parser, serve
from fusion.sqlite_saver import open_sqlite


class Run(TypedDict, total=False):
    question: str
    panel: list[str]
    judge: str
    drafts: Annotated[list[str], operator.add]
    usages: Annotated[list[dict[str, Any]], operator.add]
    answer: str


class Branch(TypedDict, total=False):
    question: str
    model: str
    text: str
    usage: dict[str, Any]
    drafts: Annotated[list[str], operator.add]
    usages: Annotated[list[dict[str, Any]], operator.add]


class BranchOutput(TypedDict, total=False):
    drafts: Annotated[list[str], operator.add]
    usages: Annotated[list[dict[str, Any]], operator.add]


def build(chat: Chat) -> StateGraph[Run, None, Run, Run]:
    async def fan_out(state: Run) -> dict[str, Any]:
        return {}

    async def spawn(state: Run) -> list[Send]:
        question = state["question"]
        return [Send("panelist", {"question": question, "model": m}) for m in state["panel"]]

    async def model(state: Branch) -> dict[str, Any]:
        text, usage = await chat(state["model"], [{"role": "user", "content": state["question"]}])
        return {"text": text, "usage": usage}

    async def draft(state: Branch) -> dict[str, Any]:
        return {"drafts": [state["text"]], "usages": [state["usage"]]}

    async def join(state: Run) -> dict[str, Any]:
        return {}

    async def judge(state: Run) -> dict[str, Any]:
        text, usage = await chat(state["judge"], judge_messages(state["question"], state["drafts"]))
        return {"answer": text, "usages": [usage]}

    branch = StateGraph(Branch, output_schema=BranchOutput)
    branch.add_node("model", model)
    branch.add_node("draft", draft)
    branch.add_edge(START, "model")
    branch.add_edge("model", "draft")

    graph = StateGraph(Run)
    graph.add_node("fan_out", fan_out)
    graph.add_edge(START, "fan_out")
    graph.add_conditional_edges("fan_out", spawn, ["panelist"])
    graph.add_node("panelist", branch.compile())
    graph.add_edge("panelist", "join")
    graph.add_node("join", join)
    graph.add_edge("join", "judge")
    graph.add_node("judge", judge)
    graph.add_edge("judge", END)
    return graph


@contextlib.asynccontextmanager
async def checkpointed_graph(chat: Chat) -> AsyncIterator[Answer]:
    folder = Path(tempfile.mkdtemp(prefix="fusion-graph-floor-"))
    saver = await open_sqlite(folder / "runs.sqlite")
    try:
        yield answerer(build(chat).compile(checkpointer=saver))
    finally:
        await saver.aclose()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def bare_graph(chat: Chat) -> AsyncIterator[Answer]:
    yield answerer(build(chat).compile())


def answerer(graph: CompiledStateGraph[Run, None, Run, Run]) -> Answer:
    durability: Durability | None = "sync" if graph.checkpointer else None

    async def answer(question: str, panel: list[str], judge: str) -> tuple[str, list[Any]]:
        config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
        run: Run = {"question": question, "panel": panel, "judge": judge}
        state = await graph.ainvoke(run, config, durability=durability)
        return str(state["answer"]), list(state["usages"])

    return answer


if __name__ == "__main__":
    parser = port_parser("python -m bench.graph_floor")
    parser.add_argument("--no-checkpoints", action="store_true", help="no checkpointer")
    args = parser.parse_args()
    serve(bare_graph if args.no_checkpoints else checkpointed_graph, args.port)

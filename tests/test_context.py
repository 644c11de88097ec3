"""`Context` validates its own values, so every way in gets the same one-line error."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from langgraph.graph import END, START, MessagesState, StateGraph

from fusion.cli.main import main
from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.graph import graph

BAD: list[tuple[dict[str, Any], str]] = [
    ({"max_tool_calls": "8"}, "max_tool_calls is '8': give a whole number, 0 to 16"),
    ({"max_tool_calls": 17}, "max_tool_calls is 17: use 0 to 16"),
    ({"max_tool_calls": 2.0}, "max_tool_calls is 2.0: give a whole number"),
    ({"budget_usd": math.nan}, "budget_usd (--budget) is nan: give a finite number"),
    ({"budget_usd": math.inf}, "budget_usd (--budget) is inf: give a finite number"),
    ({"budget_usd": 0}, "budget_usd (--budget) is 0: use a value above 0"),
    ({"deadline_s": -math.inf}, "deadline_s (--deadline) is -inf: give a finite number"),
    ({"deadline_s": "soon"}, "deadline_s (--deadline) is 'soon': give a number"),
    ({"temperature": 2.5}, "temperature is 2.5: use 0 to 2"),
    ({"temperature": math.nan}, "temperature is nan: give a finite number"),
    ({"web": "no"}, "web is 'no': give true or false"),
    ({"quorum": True}, "quorum is True: give a whole number"),
    ({"quorum": 0}, "quorum is 0: use at least 1"),
    ({"panel": "a/b"}, "panel is 'a/b': give a list of texts"),
    ({"panel": ["a/b", 3]}, "panel is ['a/b', 3]: give a list of texts"),
    ({"judge_method": "xml"}, "judge_method is 'xml': give one of function_calling"),
    ({"search_depth": "deep"}, "search_depth is 'deep': give one of basic, advanced"),
    ({"search_max_results": 0}, "search_max_results is 0: use 1 to 20"),
    ({"fetch_max_chars": 10}, "fetch_max_chars is 10: use at least 500"),
    ({"max_completion_tokens": 0}, "max_completion_tokens is 0: use at least 1"),
    ({"seed": "1"}, "seed is '1': give a whole number"),
    ({"instructions": 5}, "instructions is 5: give a text"),
]


@pytest.mark.parametrize(("values", "message"), BAD, ids=[str(v) for v, _ in BAD])
def test_a_bad_value_is_one_config_error_line(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Context(**values)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_good_values_pass_and_a_tuple_panel_becomes_a_list() -> None:
    panel: Any = ("a/b", "c/d")
    context = Context(panel=panel, deadline_s=2, budget_usd=0.5, temperature=0)
    assert context.panel == ["a/b", "c/d"] and context.deadline_s == 2


async def test_a_dict_context_as_langgraph_server_and_studio_send_it() -> None:
    with pytest.raises(ConfigError, match=r"^budget_usd \(--budget\) is nan: give a finite"):
        await graph.ainvoke({"prompt": "q"}, context={"budget_usd": math.nan})


@dataclass
class ParentContext:
    """A parent graph's own context, with Fusion's fields among its own."""

    user: str = "me"
    panel: list[str] = field(default_factory=lambda: ["a/b"])
    max_tool_calls: Any = "eight"


async def test_a_parent_graphs_own_context_gets_the_same_error() -> None:
    builder = StateGraph(MessagesState, context_schema=ParentContext)
    builder.add_node("fusion", graph)
    builder.add_edge(START, "fusion")
    builder.add_edge("fusion", END)
    parent = builder.compile()
    with pytest.raises(ConfigError, match=r"^max_tool_calls is 'eight': give a whole number"):
        await parent.ainvoke({"messages": [("user", "q")]}, context=ParentContext())


def test_the_cli_refuses_nan_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "q", "--panel", "a/b", "--judge", "c/d", "--budget", "nan"]) == 2
    err = capsys.readouterr().err
    assert err == "fusion: error: budget_usd (--budget) is nan: give a finite number\n"

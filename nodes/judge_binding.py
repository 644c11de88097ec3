"""How a judge model is asked for structured output, per `judge_method`.

The schema goes as a plain dict with its definitions inlined (providers with weak
JSON-schema support lack $ref), and the client never parses the reply: the judge
reads it itself, so an unusable reply gets a typed reason and a repair instead of
an exception from the SDK.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from fusion.core.context import JudgeMethod


def bind_schema(
    llm: ChatOpenAI, method: JudgeMethod, schema: type[BaseModel]
) -> Runnable[LanguageModelInput, BaseMessage]:
    """`llm` asked for `schema` the way `method` says: a forced tool call
    (`function_calling`), `response_format` with the schema (`json_schema`), or JSON
    content described by the prompt (`json_mode`)."""
    tool = copy.deepcopy(_tool_of(schema))  # never share a dict the SDK may touch
    function = tool["function"]
    if method == "function_calling":
        return llm.bind_tools([tool], tool_choice=function["name"], parallel_tool_calls=False)
    if method == "json_schema":
        json_schema = {
            "name": function["name"],
            "description": function.get("description", ""),
            "schema": function["parameters"],
        }
        return llm.bind(response_format={"type": "json_schema", "json_schema": json_schema})
    return llm.bind(response_format={"type": "json_object"})


@cache
def _tool_of(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema as an OpenAI tool, built once per schema class: pydantic's JSON
    schema generation took about 3 ms a judge call (a copy takes 0.1 ms)."""
    return convert_to_openai_tool(schema)

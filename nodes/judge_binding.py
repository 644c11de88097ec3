"""How a judge model is asked for structured output, per `judge_method`.

The schema goes as a plain dict with its definitions inlined (providers with weak
JSON-schema support lack $ref), and the client never parses the reply: the judge
reads it itself, so an unusable reply gets a typed reason and a repair instead of
an exception from the SDK.

For `json_schema` the schema also carries bounds (`maxItems`, `maxLength`, the
responses' letters as an `enum`, a non-empty answer). Servers
that enforce a schema by constrained decoding (llama.cpp, vLLM, Ollama) keep a small
model inside the grammar until it closes the object: measured with llama.cpp and
SmolLM2-135M, the unbounded analysis ran to the end of a 4,096-token window three
times in a row (`judge_truncated`). The bounds shape only what is asked for; the
reply is read by the unbounded `JudgeVerdict`, so a provider that ignores them loses
nothing.
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
from fusion.nodes.judge_input import letters_for


def bind_schema(
    llm: ChatOpenAI, method: JudgeMethod, schema: type[BaseModel], *, responses: int
) -> Runnable[LanguageModelInput, BaseMessage]:
    """`llm` asked for `schema` the way `method` says: a forced tool call
    (`function_calling`), `response_format` with the schema (`json_schema`), or JSON
    content described by the prompt (`json_mode`). `responses` is how many drafts the
    judge reads (their letters bound a `json_schema`)."""
    tool = copy.deepcopy(_tool_of(schema))  # never share a dict the SDK may touch
    function = tool["function"]
    if method == "function_calling":
        return llm.bind_tools([tool], tool_choice=function["name"], parallel_tool_calls=False)
    if method == "json_schema":
        json_schema = {
            "name": function["name"],
            "description": function.get("description", ""),
            "schema": _bounded(function["parameters"], letters_for(responses)),
        }
        return llm.bind(response_format={"type": "json_schema", "json_schema": json_schema})
    return llm.bind(response_format={"type": "json_object"})


@cache
def _tool_of(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema as an OpenAI tool, built once per schema class: pydantic's JSON
    schema generation took about 3 ms a judge call (a copy takes 0.1 ms)."""
    return convert_to_openai_tool(schema)


# Room for a summary (the answer carries the detail), tight enough that a constrained
# model looping on one point reaches the answer in about 1,500 tokens (3 responses).
MAX_POINTS = 4
MAX_POINT_CHARS = 300
LETTER_FIELDS = frozenset({"response", "responses"})
UNBOUNDED_FIELDS = frozenset({"answer"})  # as long as the question needs, never empty


def _bounded(schema: dict[str, Any], letters: list[str], name: str = "") -> dict[str, Any]:
    """A copy of `schema` with bounded arrays and strings (except the answer); a
    response's letter is one of `letters`, and a list of them has at most one each."""
    bounded = {
        key: (
            {field: _bounded(sub, letters, field) for field, sub in value.items()}
            if key == "properties"
            else _bounded(value, letters, name)
            if key == "items" and isinstance(value, dict)
            else value
        )
        for key, value in schema.items()
    }
    if bounded.get("type") == "array":
        per_response = name in LETTER_FIELDS or name == "stances"
        bounded.setdefault("maxItems", len(letters) if per_response else MAX_POINTS)
    elif bounded.get("type") == "string" and name in LETTER_FIELDS:
        bounded.setdefault("enum", letters)
    elif bounded.get("type") == "string" and name in UNBOUNDED_FIELDS:
        # an empty answer is never a verdict: a grammar that allows one let a small
        # model close the string at once, twice in a row (judge_empty_completion)
        bounded.setdefault("minLength", 1)
    elif bounded.get("type") == "string":
        bounded.setdefault("maxLength", MAX_POINT_CHARS)
    return bounded

"""The scripted OpenAI-compatible server, exercised with the clients Fusion really uses.

Where langchain-openai (1.x, Chat Completions, `use_responses_api=False`) exposes
the provider's raw `usage.cost` (OpenRouter's field), as pinned by the tests below:

- Non-streaming (`invoke`/`ainvoke`, also the `raw` message of
  `with_structured_output(..., include_raw=True)`): the whole raw `usage` object is
  kept, extra keys included, at `msg.response_metadata["token_usage"]`, so the cost
  is `msg.response_metadata["token_usage"]["cost"]`. `msg.usage_metadata` only has
  the token counts (`input_tokens`, `output_tokens`, `total_tokens`).
- Streaming (`stream`/`astream`, or `streaming=True`): the final usage chunk only
  becomes `usage_metadata` (token counts); `cost` is dropped and appears nowhere on
  the aggregated message. Also, for a custom `base_url` langchain-openai does not
  ask for usage at all unless `stream_usage=True` is passed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, SecretStr

from tests.fixtures.llm_replies import ChatRequest
from tests.fixtures.llm_server import (
    Error,
    Hang,
    Raw,
    ScriptedLLMServer,
    Structured,
    Text,
    ToolCalls,
)
from tests.fixtures.llm_wire import estimate_completion_tokens, estimate_prompt_tokens

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


def client(llm: ScriptedLLMServer, **kwargs: Any) -> openai.OpenAI:
    """No retries: the openai SDK retries 429/5xx twice by default, with backoff."""
    return openai.OpenAI(base_url=llm.base_url, api_key="test-key", max_retries=0, **kwargs)


def chat(llm: ScriptedLLMServer, model: str = "m", **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=llm.base_url,
        api_key=SecretStr("test-key"),
        model=model,
        use_responses_api=False,
        max_retries=0,
        **kwargs,
    )


def wait_until(predicate: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


class Verdict(BaseModel):
    winner: str
    score: int


# -- openai client ------------------------------------------------------------------


def test_text_completion_shape_usage_and_record(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("four words of text", cost=0.002))
    reply = client(llm).chat.completions.create(model="m", messages=HELLO)
    assert reply.object == "chat.completion"
    assert reply.model == "m"
    assert reply.choices[0].message.content == "four words of text"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.tool_calls is None
    prompt, completion = (
        estimate_prompt_tokens([{"role": "user", "content": "hello"}]),
        estimate_completion_tokens("four words of text", []),
    )
    assert (prompt, completion) == (1 + 5 // 4, 1 + 18 // 4)
    assert reply.usage is not None
    assert reply.usage.model_dump() == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "completion_tokens_details": None,
        "prompt_tokens_details": None,
        "cost": 0.002,
    }
    [request] = llm.requests
    assert (request.model, request.stream, request.status) == ("m", False, 200)
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.usage == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": 0.002,
    }
    assert request.ended is not None and request.ended >= request.started


def test_explicit_token_counts_and_no_cost(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("hi", prompt_tokens=100, completion_tokens=7))
    reply = client(llm).chat.completions.create(model="m", messages=HELLO)
    assert llm.requests[0].usage == {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "total_tokens": 107,
    }
    assert reply.usage is not None and "cost" not in reply.usage.model_dump()


def test_tool_calls_non_streaming(llm: ScriptedLLMServer) -> None:
    llm.script("m", ToolCalls([("search", {"q": "x"}), ("fetch", {"url": "http://a"})]))
    reply = client(llm).chat.completions.create(model="m", messages=HELLO)
    message = reply.choices[0].message
    assert message.content is None
    assert reply.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    calls = [
        (c.function.name, json.loads(c.function.arguments))
        for c in message.tool_calls
        if c.type == "function"
    ]
    assert calls == [("search", {"q": "x"}), ("fetch", {"url": "http://a"})]
    assert len({c.id for c in message.tool_calls}) == 2
    args = [json.dumps({"q": "x"}), json.dumps({"url": "http://a"})]
    usage = llm.requests[0].usage
    assert usage is not None and usage["completion_tokens"] == estimate_completion_tokens("", args)


def test_streaming_text_in_chunks_with_usage(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("one two three four", cost=0.5))
    stream = client(llm).chat.completions.create(
        model="m", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) >= 3 and "".join(pieces) == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    usage = llm.requests[0].usage
    assert usage is not None and usage["cost"] == 0.5
    assert chunks[-1].usage.model_dump(exclude_none=True) == usage
    assert llm.requests[0].stream


def test_streaming_without_include_usage_reports_none(llm: ScriptedLLMServer) -> None:
    chunks = list(client(llm).chat.completions.create(model="m", messages=HELLO, stream=True))
    assert all(c.usage is None for c in chunks)
    assert llm.requests[0].usage is None and llm.requests[0].status == 200


def test_streaming_tool_calls_reassemble(llm: ScriptedLLMServer) -> None:
    llm.script("m", ToolCalls([("search", {"query": "long enough query"}), ("fetch", {"u": 1})]))
    stream = client(llm).chat.completions.create(model="m", messages=HELLO, stream=True)
    calls: dict[int, dict[str, str]] = {}
    deltas = 0
    for chunk in stream:
        for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            deltas += 1
            slot = calls.setdefault(tc.index, {"name": "", "args": ""})
            if tc.function and tc.function.name:
                slot["name"] = tc.function.name
            slot["args"] += (tc.function.arguments or "") if tc.function else ""
    assert deltas > 2
    assert [(c["name"], json.loads(c["args"])) for c in calls.values()] == [
        ("search", {"query": "long enough query"}),
        ("fetch", {"u": 1}),
    ]


def test_chunk_delay_spaces_out_chunks(llm: ScriptedLLMServer) -> None:
    llm.chunk_delay = 0.05
    stream = client(llm).chat.completions.create(model="m", messages=HELLO, stream=True)
    arrivals = [time.monotonic() for _ in stream]
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 3)


def test_error_shape_headers_and_retry_after(llm: ScriptedLLMServer) -> None:
    llm.script("m", Error(429, "slow down", headers={"Retry-After": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client(llm).chat.completions.create(model="m", messages=HELLO)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body == {"message": "slow down", "type": "rate_limit_error", "code": 429}
    assert llm.requests[0].status == 429 and llm.requests[0].usage is None


def test_queue_in_order_then_exhausted(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("first"), lambda r: Text(f"second to {r.model}"), Error(503))
    c = client(llm)
    texts = [c.chat.completions.create(model="m", messages=HELLO).choices[0].message.content]
    texts.append(c.chat.completions.create(model="m", messages=HELLO).choices[0].message.content)
    assert texts == ["first", "second to m"]
    with pytest.raises(openai.InternalServerError) as caught:
        c.chat.completions.create(model="m", messages=HELLO)
    assert caught.value.status_code == 503
    with pytest.raises(openai.InternalServerError, match="script for m exhausted"):
        c.chat.completions.create(model="m", messages=HELLO)
    assert [r.status for r in llm.requests_for("m")] == [200, 200, 503, 500]


def test_single_handler_answers_every_request(llm: ScriptedLLMServer) -> None:
    llm.script("m", lambda r: Text(f"#{len(llm.requests_for('m'))}"))
    c = client(llm)
    got = [
        c.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
        for _ in "abc"
    ]
    assert got == ["#1", "#2", "#3"]


def test_handler_exception_is_a_500_and_server_keeps_serving(llm: ScriptedLLMServer) -> None:
    def boom(request: ChatRequest) -> Text:
        raise RuntimeError("kaboom")

    llm.script("bad", boom)
    with pytest.raises(openai.InternalServerError, match="kaboom"):
        client(llm).chat.completions.create(model="bad", messages=HELLO)
    assert (
        client(llm).chat.completions.create(model="ok", messages=HELLO).choices[0].message.content
    )


def test_default_echo_and_custom_default(llm: ScriptedLLMServer) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "What   is\n2+2?"}]},
    ]
    reply = client(llm).chat.completions.create(model="any/model", messages=messages)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "any/model says: What is 2+2?"
    llm.default(lambda r: Text("custom"))
    reply = client(llm).chat.completions.create(model="other", messages=HELLO)
    assert reply.choices[0].message.content == "custom"


def test_require_api_key(llm: ScriptedLLMServer) -> None:
    llm.require_api_key = "secret"
    llm.script("m", Text("ok"))
    with pytest.raises(openai.AuthenticationError):
        client(llm).chat.completions.create(model="m", messages=HELLO)
    ok = openai.OpenAI(base_url=llm.base_url, api_key="secret", max_retries=0)
    assert ok.chat.completions.create(model="m", messages=HELLO).choices[0].message.content == "ok"
    assert [r.status for r in llm.requests] == [401, 200]


def test_raw_reply_and_models_list(llm: ScriptedLLMServer) -> None:
    llm.script("m", Raw(502, "<html>bad gateway</html>", content_type="text/html"))
    llm.script("n", Text("x"))
    response = httpx.post(
        f"{llm.base_url}/chat/completions", json={"model": "m", "messages": HELLO}
    )
    assert (response.status_code, response.text) == (502, "<html>bad gateway</html>")
    assert response.headers["content-type"] == "text/html"
    assert [m.id for m in client(llm).models.list()] == ["m", "n"]


def test_delay_is_applied(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("late", delay=0.2))
    started = time.monotonic()
    client(llm).chat.completions.create(model="m", messages=HELLO)
    assert time.monotonic() - started >= 0.2


async def test_slow_reply_does_not_block_others(llm: ScriptedLLMServer) -> None:
    llm.script("slow", Text("slow", delay=0.5))
    llm.script("fast", Text("fast"))
    aclient = openai.AsyncOpenAI(base_url=llm.base_url, api_key="k", max_retries=0)
    done: list[str] = []

    async def ask(model: str) -> None:
        await aclient.chat.completions.create(model=model, messages=HELLO)
        done.append(model)

    slow = asyncio.create_task(ask("slow"))
    await asyncio.sleep(0.05)
    await ask("fast")
    assert done == ["fast"]
    await slow
    assert done == ["fast", "slow"]


def test_hang_freed_when_client_gives_up(llm: ScriptedLLMServer) -> None:
    llm.script("m", Hang())
    with pytest.raises(openai.APITimeoutError):
        client(llm, timeout=0.2).chat.completions.create(model="m", messages=HELLO)
    wait_until(lambda: llm.requests[0].disconnected)
    assert llm.requests[0].status is None and llm.requests[0].ended is None


async def test_cancelled_async_call_frees_hang(llm: ScriptedLLMServer) -> None:
    llm.script("m", Hang())
    aclient = openai.AsyncOpenAI(base_url=llm.base_url, api_key="k", max_retries=0)
    task = asyncio.create_task(aclient.chat.completions.create(model="m", messages=HELLO))
    await asyncio.to_thread(wait_until, lambda: len(llm.requests) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.to_thread(wait_until, lambda: llm.requests[0].disconnected)


def test_reset_releases_hang(llm: ScriptedLLMServer) -> None:
    llm.script("m", Hang())
    errors: list[Exception] = []

    def call() -> None:
        try:
            client(llm, timeout=10).chat.completions.create(model="m", messages=HELLO)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    wait_until(lambda: len(llm.requests) == 1)
    llm.reset()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert isinstance(errors[0], openai.APIConnectionError)
    assert llm.requests == []


# -- recorded request properties and Structured -------------------------------------


def test_chat_request_properties() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "part"}, {"type": "image_url"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "s", "arguments": '{"q": 1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "result text"},
        ],
        "tools": [{"type": "function", "function": {"name": "s", "parameters": {}}}],
    }
    request = ChatRequest(model="m", body=body, headers={}, stream=False, started=0.0)
    assert request.text == 'sys\npart\n{"q": 1}\nresult text'
    assert request.tool_names == ["s"]
    assert request.tool_results == ["result text"]
    assert request.last_message["role"] == "tool"
    assert estimate_prompt_tokens(request.messages) == 1 + len('syspart{"q": 1}result text') // 4
    empty = ChatRequest(model="m", body={}, headers={}, stream=False, started=0.0)
    assert (empty.messages, empty.last_message, empty.tool_names, empty.text) == ([], {}, [], "")


def test_structured_resolves_to_the_requested_mode() -> None:
    data = {"winner": "a", "score": 3}
    tool = {"type": "function", "function": {"name": "Verdict", "parameters": {}}}
    forced = {"tools": [tool], "tool_choice": {"type": "function", "function": {"name": "Verdict"}}}
    assert Structured(data).resolve(forced) == ToolCalls([("Verdict", data)])
    assert Structured(data).resolve({"tools": [tool], "tool_choice": "required"}) == ToolCalls(
        [("Verdict", data)]
    )
    assert Structured(data, cost=1.0).resolve({"response_format": {"type": "json_object"}}) == Text(
        json.dumps(data), cost=1.0
    )
    assert Structured(data).resolve({"tools": [tool], "tool_choice": "auto"}) == Text(
        json.dumps(data)
    )


# -- langchain-openai ---------------------------------------------------------------


def test_langchain_invoke_usage_and_cost(llm: ScriptedLLMServer) -> None:
    """Cost for non-streaming calls: `msg.response_metadata["token_usage"]["cost"]`."""
    llm.script("m", Text("the answer", cost=0.0042))
    msg = chat(llm).invoke("question?")
    assert isinstance(msg, AIMessage) and msg.content == "the answer"
    usage = llm.requests[0].usage
    assert usage is not None
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == usage["prompt_tokens"]
    assert msg.usage_metadata["output_tokens"] == usage["completion_tokens"]
    assert msg.usage_metadata["total_tokens"] == usage["total_tokens"]
    assert msg.response_metadata["token_usage"]["cost"] == 0.0042
    assert msg.response_metadata["model_name"] == "m"
    assert msg.response_metadata["finish_reason"] == "stop"


async def test_langchain_ainvoke(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("async answer", cost=0.1))
    msg = await chat(llm).ainvoke("q")
    assert msg.content == "async answer"
    assert msg.response_metadata["token_usage"]["cost"] == 0.1


def test_langchain_streaming_usage_but_no_cost(llm: ScriptedLLMServer) -> None:
    llm.script("m", Text("streamed words come in pieces", cost=0.3), Text("again", cost=0.3))
    chunks = list(chat(llm).stream("q", stream_usage=True))
    assert len([c for c in chunks if c.content]) >= 3
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert isinstance(full, AIMessageChunk) and full.content == "streamed words come in pieces"
    usage = llm.requests[0].usage
    assert usage is not None and full.usage_metadata is not None
    assert full.usage_metadata["input_tokens"] == usage["prompt_tokens"]
    assert full.usage_metadata["output_tokens"] == usage["completion_tokens"]
    # langchain-openai drops the raw usage when streaming: the cost is nowhere.
    assert "0.3" not in json.dumps([full.response_metadata, full.additional_kwargs], default=str)
    # Without stream_usage=True, langchain-openai asks a custom base_url for no usage.
    msg = chat(llm, streaming=True).invoke("q")
    assert msg.content == "again" and msg.usage_metadata is None
    assert "stream_options" not in llm.requests[1].body and llm.requests[1].usage is None


def test_langchain_bind_tools_and_tool_round_trip(llm: ScriptedLLMServer) -> None:
    def search(query: str) -> str:
        """Search the web."""
        return query

    llm.script("m", ToolCalls([("search", {"query": "fusion"})], cost=0.01), Text("done"))
    model = chat(llm).bind_tools([search])
    msg = model.invoke([HumanMessage("find it")])
    assert isinstance(msg, AIMessage)
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [("search", {"query": "fusion"})]
    assert msg.response_metadata["token_usage"]["cost"] == 0.01
    assert llm.requests[0].tool_names == ["search"]
    tool_message = ToolMessage("search result body", tool_call_id=msg.tool_calls[0]["id"] or "")
    final = model.invoke([HumanMessage("find it"), msg, tool_message])
    assert final.content == "done"
    second = llm.requests[1]
    assert second.tool_results == ["search result body"]
    assert '{"query": "fusion"}' in second.text


def test_langchain_streaming_tool_calls(llm: ScriptedLLMServer) -> None:
    def fetch(url: str, max_chars: int) -> str:
        """Fetch a page."""
        return url

    llm.script("m", ToolCalls([("fetch", {"url": "http://example.test/x", "max_chars": 500})]))
    full: Any = None
    for chunk in chat(llm).bind_tools([fetch]).stream("go"):
        full = chunk if full is None else full + chunk
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("fetch", {"url": "http://example.test/x", "max_chars": 500})
    ]


def test_langchain_structured_output_function_calling(llm: ScriptedLLMServer) -> None:
    llm.script("m", Structured({"winner": "b", "score": 9}))
    result = chat(llm).with_structured_output(Verdict, method="function_calling").invoke("judge")
    assert result == Verdict(winner="b", score=9)
    choice = llm.requests[0].body["tool_choice"]
    assert choice["function"]["name"] == "Verdict"


def test_langchain_structured_output_json_schema(llm: ScriptedLLMServer) -> None:
    llm.script("m", Structured({"winner": "a", "score": 1}, cost=0.02))
    model = chat(llm).with_structured_output(Verdict, method="json_schema", include_raw=True)
    result = model.invoke("judge")
    assert isinstance(result, dict)
    assert result["parsed"] == Verdict(winner="a", score=1)
    assert result["raw"].response_metadata["token_usage"]["cost"] == 0.02
    assert llm.requests[0].body["response_format"]["type"] == "json_schema"


def test_llm_env_points_fusion_at_the_server(llm_env: ScriptedLLMServer) -> None:
    import os

    assert os.environ["FUSION_BASE_URL"] == llm_env.base_url
    assert os.environ["FUSION_API_KEY"] == "test-key"
    assert "OPENROUTER_API_KEY" not in os.environ

"""`fusion serve`: the official OpenAI client against the real command and uvicorn,
with the scripted model server behind it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from fusion.cli.main import main
from fusion.core.context import Context
from fusion.serve.schemas import FusionOptions
from tests.fixtures.checkpoints import saved_writes
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import Error, Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.serve import SERVER_KEY, FusionServer, fusion_server

__all__ = ["fusion_server"]  # the fixture, imported so pytest finds it here

PANEL = ["vendor/a", "vendor/b"]
OPTIONS: dict[str, Any] = {"panel": PANEL, "judge": "vendor/judge", "web": False}
QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is fusion?"},
]
WAIT_S = 20.0


def script_panel(llm: ScriptedLLMServer) -> None:
    llm.script("vendor/a", Text("alpha draft", cost=0.001))
    llm.script("vendor/b", Text("beta draft", cost=0.002))
    llm.script("vendor/judge", echo_judge)


def client(server: FusionServer, key: str = SERVER_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0)


def answered_usage(llm: ScriptedLLMServer) -> tuple[int, int]:
    """Prompt and completion tokens over every request the model server answered."""
    answered = [r.usage for r in llm.requests if r.status == 200 and r.usage]
    return (
        sum(u["prompt_tokens"] for u in answered),
        sum(u["completion_tokens"] for u in answered),
    )


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


async def test_whole_answer_with_usage_and_fusion_metadata(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    script_panel(llm_env)
    async with client(fusion_server) as api:
        completion = await api.chat.completions.create(
            model="fusion",
            messages=QUESTION,
            max_tokens=300,
            temperature=0.3,
            extra_body={"fusion": OPTIONS},
        )

    assert completion.object == "chat.completion" and completion.model == "fusion"
    (choice,) = completion.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    answer = choice.message.content or ""
    assert "alpha draft" in answer and "beta draft" in answer  # echo_judge quotes each draft
    prompt, completion_tokens = answered_usage(llm_env)
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        prompt,
        completion_tokens,
    )
    assert completion.usage.total_tokens == prompt + completion_tokens

    fusion = (completion.model_extra or {})["fusion"]
    assert fusion["status"] == "ok" and fusion["failure_reason"] is None
    assert completion.id == f"chatcmpl-{fusion['thread_id']}"
    assert {r["model"]: r["text"] for r in fusion["responses"]} == {
        "vendor/a": "alpha draft",
        "vendor/b": "beta draft",
    }
    assert {r["model"]: r["cost_usd"] for r in fusion["responses"]} == {
        "vendor/a": 0.001,
        "vendor/b": 0.002,
    }
    assert all(r["status"] == "ok" and r["sources"] == [] for r in fusion["responses"])
    assert {i["model"] for i in fusion["analysis"]["unique_insights"]} == set(PANEL)
    assert fusion["failed_models"] == []
    # max_tokens and temperature reach the panel
    body = llm_env.requests_for("vendor/a")[0].body
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 300
    assert body["temperature"] == 0.3
    # the caller's system prompt is the panel's and the judge's instructions
    for model in ("vendor/a", "vendor/judge"):
        system = llm_env.requests_for(model)[0].messages[0]
        assert system["role"] == "system" and "Answer briefly." in system["content"]


async def test_streamed_answer_arrives_in_chunks_with_usage_at_the_end(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    script_panel(llm_env)
    async with client(fusion_server) as api:
        stream = await api.chat.completions.create(
            model="fusion",
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"fusion": OPTIONS},
        )
        chunks = [chunk async for chunk in stream]

    assert all(c.object == "chat.completion.chunk" and c.model == "fusion" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 2, pieces
    answer = "".join(pieces)
    assert "alpha draft" in answer and "beta draft" in answer

    *_, last_choice, usage_chunk = chunks
    assert last_choice.choices[0].finish_reason == "stop"
    fusion = (last_choice.model_extra or {})["fusion"]
    assert fusion["status"] == "ok" and len(fusion["responses"]) == 2
    assert last_choice.id == f"chatcmpl-{fusion['thread_id']}"
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert (usage_chunk.model_extra or {})["fusion"] == fusion  # the last chunk has it too
    prompt, completion_tokens = answered_usage(llm_env)
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (
        prompt,
        completion_tokens,
    )


async def test_stream_carries_progress_comments_and_ends_with_done(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    """A degraded run: the note naming the missing panelist, which the judge node adds
    after the streamed answer, reaches the client too."""
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/b", Error(400, "b refused"))
    llm_env.script("vendor/judge", echo_judge)
    body = {"model": "fusion", "messages": QUESTION, "stream": True, "fusion": OPTIONS}
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    async with (
        httpx.AsyncClient(timeout=WAIT_S) as http,
        http.stream(
            "POST", f"{fusion_server.base_url}/chat/completions", json=body, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines() if line]

    comments = [line for line in lines if line.startswith(":")]
    assert ": panelist_started vendor/a" in comments
    assert any(c.startswith(": panelist_failed vendor/b reason=bad_request") for c in comments)
    assert any(c.startswith(": judge_started vendor/judge") for c in comments)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1] if line.startswith("data: ")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith("Fused answer:") and "alpha draft" in text
    assert "1 of 2 panelists did not answer: vendor/b (bad_request)" in text
    assert chunks[-1]["fusion"]["status"] == "degraded"


BAD_REQUESTS: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "empty conversation": (
        {"model": "fusion", "messages": [{"role": "system", "content": "Be brief."}]},
        "empty_conversation",
        "messages",
    ),
    "unknown preset": (
        {"model": "fusion/nope", "messages": QUESTION},
        "model_not_found",
        "model",
    ),
    "unknown option": (
        {"model": "fusion", "messages": QUESTION, "extra_body": {"fusion": {"panell": PANEL}}},
        "invalid_option",
        "fusion.panell",
    ),
    "option of the wrong type": (
        {"model": "fusion", "messages": QUESTION, "extra_body": {"fusion": {"quorum": "all"}}},
        "invalid_option",
        "fusion.quorum",
    ),
    "option out of range": (
        {
            "model": "fusion",
            "messages": QUESTION,
            "extra_body": {"fusion": OPTIONS | {"quorum": 3}},
        },
        "invalid_request",
        None,
    ),
    "tools": (
        {
            "model": "fusion",
            "messages": QUESTION,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        },
        "unsupported_parameter",
        "tools",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
async def test_bad_request_is_a_400_in_the_openai_shape(
    case: str, fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    request, code, param = BAD_REQUESTS[case]
    async with client(fusion_server) as api:
        with pytest.raises(openai.BadRequestError) as caught:
            await api.chat.completions.create(**request)

    error = caught.value.response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code and error["param"] == param
    assert error["message"] and "Traceback" not in error["message"]
    assert llm_env.requests == []  # refused before any model call


async def test_recursion_guard_refuses_a_request_from_a_fusion_panel(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    async with client(fusion_server) as api:
        with pytest.raises(openai.BadRequestError) as caught:
            await api.chat.completions.create(
                model="fusion",
                messages=QUESTION,
                extra_headers={"X-Fusion-Depth": "1"},
                extra_body={"fusion": OPTIONS},
            )
    assert caught.value.code == "fusion_recursion"
    assert llm_env.requests == []


async def test_a_panel_pointed_back_at_the_server_does_not_loop(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    """The server's config routes model `fusion` to the server itself: that panelist's
    request carries Fusion's depth header and is refused; the rest of the panel answers."""
    script_panel(llm_env)
    async with client(fusion_server) as api:
        completion = await api.chat.completions.create(
            model="fusion",
            messages=QUESTION,
            extra_body={"fusion": OPTIONS | {"panel": ["fusion", "vendor/a"]}},
        )

    fusion = (completion.model_extra or {})["fusion"]
    assert fusion["status"] == "degraded"
    (failed,) = fusion["failed_models"]
    assert failed["model"] == "fusion" and failed["reason"] == "bad_request"
    assert "nested fusion" in failed["message"]
    assert sorted(r.model for r in llm_env.requests) == ["vendor/a", "vendor/judge"]


async def test_missing_search_key_is_the_servers_problem_a_503(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    """The server runs without TAVILY_API_KEY: a run with web tools can't start, and
    retrying won't help until the operator sets it."""
    async with client(fusion_server) as api:
        with pytest.raises(openai.InternalServerError) as caught:
            await api.chat.completions.create(
                model="fusion",
                messages=QUESTION,
                extra_body={"fusion": OPTIONS | {"web": True}},
            )
    assert caught.value.status_code == 503
    assert caught.value.code == "server_not_configured"
    assert "TAVILY_API_KEY" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert llm_env.requests == []


async def test_wrong_server_key_is_a_401(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    async with client(fusion_server, key="wrong-key") as api:
        with pytest.raises(openai.AuthenticationError) as caught:
            await api.chat.completions.create(
                model="fusion",
                messages=QUESTION,
                extra_body={"fusion": OPTIONS},
            )
        assert caught.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            await api.models.list()
    assert llm_env.requests == []


async def test_models_lists_fusion_and_every_preset(fusion_server: FusionServer) -> None:
    async with client(fusion_server) as api:
        models = await api.models.list()
    ids = [m.id for m in models.data]
    assert ids[0] == "fusion"
    assert {"fusion/quality", "fusion/budget", "fusion/local"} <= set(ids)


async def test_failed_panel_is_a_502_that_keeps_the_fusion_metadata(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    llm_env.script("vendor/a", Error(400, "a refused"))
    llm_env.script("vendor/b", Error(403, "b forbidden"))
    # default retries: the server's x-should-retry header must stop the SDK re-running
    async with openai.AsyncOpenAI(base_url=fusion_server.base_url, api_key=SERVER_KEY) as api:
        with pytest.raises(openai.InternalServerError) as caught:
            await api.chat.completions.create(
                model="fusion",
                messages=QUESTION,
                extra_body={"fusion": OPTIONS},
            )

    response = caught.value.response
    assert response.status_code == 502
    assert response.headers["x-should-retry"] == "false"
    body = response.json()
    assert body["error"]["code"] == "all_panels_failed"
    assert "vendor/a" in body["error"]["message"] and "fusion resume" in body["error"]["message"]
    fusion = body["fusion"]
    assert fusion["status"] == "failed" and fusion["failure_reason"] == "all_panels_failed"
    assert {(f["model"], f["reason"]) for f in fusion["failed_models"]} == {
        ("vendor/a", "bad_request"),
        ("vendor/b", "forbidden"),
    }
    assert sorted(r.model for r in llm_env.requests) == PANEL  # once each, no judge


async def test_failed_panel_while_streaming_ends_with_an_error_event(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    llm_env.script("vendor/a", Error(400, "a refused"))
    llm_env.script("vendor/b", Error(400, "b refused"))
    async with client(fusion_server) as api:
        stream = await api.chat.completions.create(
            model="fusion",
            messages=QUESTION,
            stream=True,
            extra_body={"fusion": OPTIONS},
        )
        with pytest.raises(openai.APIError) as caught:
            async for _chunk in stream:
                pass
    assert "all_panels_failed" in caught.value.message


def paid_drafts(server: FusionServer, thread_id: str) -> int:
    """Panelists whose results are saved in the run's checkpoint (LangGraph's pending
    writes of the panel step; only a finished panelist task writes `branch:to:join`)."""
    return saved_writes(server.db, thread_id, "branch:to:join", distinct_tasks=True)


async def test_client_disconnect_cancels_the_run_and_the_checkpoint_keeps_paid_drafts(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/b", Hang())
    llm_env.script("vendor/judge", echo_judge)
    body = {"model": "fusion", "messages": QUESTION, "stream": True, "fusion": OPTIONS}
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    async with (
        httpx.AsyncClient(timeout=WAIT_S) as http,
        http.stream(
            "POST", f"{fusion_server.base_url}/chat/completions", json=body, headers=headers
        ) as response,
    ):
        thread_id = response.headers["x-fusion-thread-id"]
        await wait_for(lambda: bool(llm_env.requests_for("vendor/b")), "the hanging call")
        await wait_for(lambda: paid_drafts(fusion_server, thread_id) == 1, "vendor/a's saved draft")
    # the client hung up: the server cancels the run and its call to vendor/b
    (hanging,) = llm_env.requests_for("vendor/b")
    await wait_for(lambda: hanging.disconnected, "the server to drop the hanging call")
    assert llm_env.requests_for("vendor/judge") == []

    llm_env.script("vendor/b", Text("beta draft"))
    done = run_fusion("resume", thread_id, "--json", env=fusion_server.env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok"
    assert len(llm_env.requests_for("vendor/a")) == 1  # paid once, kept by the checkpoint
    assert "beta draft" in result["answer"]


async def test_client_leaving_a_whole_answer_request_cancels_the_run(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    llm_env.script("vendor/a", Text("alpha draft"))
    llm_env.script("vendor/b", Hang())
    body = {"model": "fusion", "messages": QUESTION, "fusion": OPTIONS}
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    async with httpx.AsyncClient(timeout=WAIT_S) as http:
        request = asyncio.ensure_future(
            http.post(f"{fusion_server.base_url}/chat/completions", json=body, headers=headers)
        )
        await wait_for(lambda: bool(llm_env.requests_for("vendor/b")), "the hanging call")
        request.cancel()  # the client hangs up
        await asyncio.wait({request})
    (hanging,) = llm_env.requests_for("vendor/b")
    await wait_for(lambda: hanging.disconnected, "the server to drop the hanging call")
    assert llm_env.requests_for("vendor/judge") == []


def test_fusion_options_mirror_every_context_field() -> None:
    assert set(FusionOptions.model_fields) == {f.name for f in dataclasses.fields(Context)}


def test_serve_without_the_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == (
        'fusion serve needs the serve extra: pip install "fusion-panel[serve]"\n'
    )

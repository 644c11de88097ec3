"""A retry of a whole answer whose client left resumes the run it left, so nothing
finished is paid twice: the OpenAI SDK's own retries after a timeout, and any client's
`Idempotency-Key`. An identical request that is not a retry is a new run."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import openai

from tests.fixtures.checkpoints import saved_writes, wait_for
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import ChatRequest, Hang, Reply, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.serve import SERVER_KEY, FusionServer, fusion_server

__all__ = ["fusion_server"]  # a fixture, imported so pytest finds it

OPTIONS: dict[str, Any] = {"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge", "web": False}
QUESTION = [{"role": "user", "content": "What is fusion?"}]
SDK_TIMEOUT_S = 8.0  # the first attempt hangs on vendor/b past it; a resumed one finishes
WAIT_S = 30.0


def hangs_once(llm: ScriptedLLMServer) -> None:
    """vendor/a answers; vendor/b hangs on its first call and answers after that."""
    calls = itertools.count()

    def vendor_b(request: ChatRequest) -> Reply:
        return Hang() if next(calls) == 0 else Text("beta draft", cost=0.001)

    llm.script("vendor/a", lambda request: Text("alpha draft", cost=0.001))
    llm.script("vendor/b", vendor_b)
    llm.script("vendor/judge", echo_judge)


def runs_of(server: FusionServer, before: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The server's runs, leaving out `before` (its database serves the whole module)."""
    listed = run_fusion("runs", "--json", env=server.env)
    assert listed.returncode == 0, listed.stderr
    return [row["thread_id"] for row in json.loads(listed.stdout) if row["thread_id"] not in before]


async def test_the_sdks_retry_after_a_timeout_resumes_the_run_instead_of_paying_again(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    hangs_once(llm_env)
    before = set(runs_of(fusion_server))
    api = openai.AsyncOpenAI(
        base_url=fusion_server.base_url, api_key=SERVER_KEY, timeout=SDK_TIMEOUT_S
    )  # the SDK's default retries: 2
    completion = await api.chat.completions.create(
        model="fusion",
        messages=QUESTION,  # type: ignore[arg-type]
        extra_body={"fusion": OPTIONS},
    )
    (thread_id,) = runs_of(fusion_server, before)  # one run, not one per attempt
    assert completion.id == f"chatcmpl-{thread_id}"
    answer = completion.choices[0].message.content or ""
    assert "alpha draft" in answer and "beta draft" in answer
    assert len(llm_env.requests_for("vendor/a")) == 1  # paid once, kept by the checkpoint
    assert len(llm_env.requests_for("vendor/b")) == 2  # the hung call, then the resumed one


async def test_an_idempotency_key_resumes_the_run_and_a_plain_repeat_is_a_new_one(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    hangs_once(llm_env)
    before = set(runs_of(fusion_server))
    body = {"model": "fusion", "messages": QUESTION, "fusion": OPTIONS}
    url = f"{fusion_server.base_url}/chat/completions"
    keyed = {"Authorization": f"Bearer {SERVER_KEY}", "Idempotency-Key": "order-42"}
    async with httpx.AsyncClient(timeout=WAIT_S) as http:
        first = asyncio.ensure_future(http.post(url, json=body, headers=keyed))
        await asyncio.to_thread(
            wait_for, lambda: bool(llm_env.requests_for("vendor/b")), "vendor/b's call"
        )
        (left,) = runs_of(fusion_server, before)
        await asyncio.to_thread(
            wait_for,
            lambda: (
                saved_writes(fusion_server.db, left, "branch:to:join", distinct_tasks=True) == 1
            ),
            "vendor/a's saved draft",
        )
        first.cancel()  # the client gives up
        await asyncio.wait({first})
        (hanging,) = llm_env.requests_for("vendor/b")
        await asyncio.to_thread(wait_for, lambda: hanging.disconnected, "the run to stop")

        again = await http.post(url, json=body, headers=keyed)
        assert again.status_code == 200, again.text
        assert again.headers["x-fusion-thread-id"] == left
        assert len(llm_env.requests_for("vendor/a")) == 1

        plain = {"Authorization": f"Bearer {SERVER_KEY}"}  # the same question, asked anew
        repeat = await http.post(url, json=body, headers=plain)
        assert repeat.status_code == 200, repeat.text
        assert repeat.headers["x-fusion-thread-id"] != left
    assert len(llm_env.requests_for("vendor/a")) == 2  # once per run
    assert len(runs_of(fusion_server, before)) == 2


def test_a_key_matches_only_the_same_caller_asking_the_same_thing() -> None:
    from starlette.datastructures import Headers

    from fusion.serve.retries import request_key

    def key(body: str, **headers: str) -> tuple[str, bool]:
        found = request_key(Headers({k.replace("_", "-"): v for k, v in headers.items()}), body)
        return found.key, found.retry

    mine = {"authorization": "Bearer a", "idempotency_key": "k1"}
    assert key("{q:1}", **mine) == key("{q:1}", **mine)
    assert key("{q:1}", **mine)[1]  # a keyed request may resume
    assert key("{q:2}", **mine)[0] != key("{q:1}", **mine)[0]  # another body, same key
    assert key("{q:1}", **mine | {"authorization": "Bearer b"})[0] != key("{q:1}", **mine)[0]
    plain = {"authorization": "Bearer a"}
    assert not key("{q:1}", **plain)[1]  # an unmarked repeat is a new run
    assert key("{q:1}", **plain, x_stainless_retry_count="1")[1]  # the SDK's retry
    assert not key("{q:1}", **plain, x_stainless_retry_count="0")[1]

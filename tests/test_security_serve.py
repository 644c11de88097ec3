"""Security: `fusion serve` against unauthenticated floods, malformed bodies and a fuzzer.

The server is the real command under uvicorn, in a subprocess, with a key; clients
talk to it over real HTTP (raw sockets where a client library would refuse to send
what an attacker sends).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fusion.serve.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.serve import SERVER_KEY, _wait_ready, free_port, stop_server

AUTH = {"Authorization": f"Bearer {SERVER_KEY}"}


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT
    port: int
    pid: int
    log: Path


@pytest.fixture(scope="module")
def server(
    llm_server: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve-security")
    port = free_port()
    (home / "config.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "TAVILY_API_KEY")}
    env |= {
        "HOME": str(home),
        "FUSION_CONFIG": str(home / "config.toml"),
        "FUSION_DB": str(home / "runs.sqlite"),
        "FUSION_BASE_URL": llm_server.base_url,
        "FUSION_API_KEY": "test-key",
        "FUSION_SERVER_API_KEY": SERVER_KEY,
    }
    log = home / "server.log"
    command = [sys.executable, "-m", "fusion.cli.main", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}/v1", log)
        yield Server(f"http://127.0.0.1:{port}", port, proc.pid, log)
    finally:
        stop_server(proc)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raw_request(port: int, head: str, body: bytes = b"", read_timeout: float = 30) -> bytes:
    """Send a request by hand and read what comes back until the server closes or
    stops sending; a server that answered early may reset the rest of the upload."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(body)
        chunks = []
        try:
            while piece := sock.recv(65536):
                chunks.append(piece)
                if b"\r\n\r\n" in b"".join(chunks) and b'"error"' in b"".join(chunks):
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0


def assert_openai_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert "Traceback" not in response.text


def test_unauthenticated_100mb_bodies_are_refused_before_being_read(server: Server) -> None:
    before = rss_mb(server.pid)
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    replies = [raw_request(server.port, head, b"[" * (256 * 1024)) for _ in range(4)]
    after = rss_mb(server.pid)
    print(f"server RSS {before:.0f} MB -> {after:.0f} MB after four 100 MB unauthenticated posts")
    assert [status_of(r) for r in replies] == [401] * 4
    assert after - before < 50


def test_oversized_bodies_with_the_key_get_413(server: Server) -> None:
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {SERVER_KEY}\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    assert status_of(raw_request(server.port, head, b" " * 1024)) == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = httpx.post(
        f"{server.base}/v1/chat/completions", content=chunks(), headers=AUTH, timeout=60
    )
    assert_openai_error(response, 413)


VALID = {"model": "fusion", "messages": [{"role": "user", "content": "hi"}]}
MALFORMED: dict[str, bytes] = {
    "not utf-8": b'{"model": "fusion\xff\xfe", "messages": []}',
    "lone surrogate escape": b'{"model": "fusion", "messages": [{"role": "user", "content": '
    b'"\\ud800"}]}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * (MAX_JSON_DEPTH + 5) + b"1" + b"}" * (MAX_JSON_DEPTH + 5),
    "5000-digit number": b'{"model": "fusion", "messages": [], "max_tokens": ' + b"9" * 5000 + b"}",
    "NaN": b'{"model": "fusion", "messages": [], "temperature": NaN}',
    "Infinity": b'{"model": "fusion", "messages": [], "temperature": Infinity}',
    "1e999": b'{"model": "fusion", "messages": [], "temperature": 1e999}',
    "truncated": b'{"model": "fusion", "messages": [',
    "empty": b"",
    "array": b"[]",
    "string": b'"hello"',
    "null": b"null",
    "wrong types": b'{"model": 5, "messages": "hi"}',
    "messages of numbers": b'{"model": "fusion", "messages": [1, 2, 3]}',
    "null byte": b'{"model": "fusion\x00", "messages": []}',
    "bad fusion option": b'{"model": "fusion", "messages": [{"role": "user", "content": "q"}],'
    b' "fusion": {"budget_usd": "lots"}}',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_body_gets_400_in_openai_shape(server: Server, case: str) -> None:
    response = httpx.post(
        f"{server.base}/v1/chat/completions",
        content=MALFORMED[case],
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=60,
    )
    assert_openai_error(response, 400)


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/redoc", "/v1/models"])
def test_docs_and_schema_need_the_key(server: Server, path: str) -> None:
    assert_openai_error(httpx.get(f"{server.base}{path}", timeout=30), 401)
    assert httpx.get(f"{server.base}{path}", headers=AUTH, timeout=30).status_code == 200


def test_no_traceback_and_no_query_string_in_the_log(server: Server) -> None:
    httpx.get(f"{server.base}/v1/models?token=query-secret-abcdef", headers=AUTH, timeout=30)
    for body in MALFORMED.values():
        httpx.post(f"{server.base}/v1/chat/completions", content=body, headers=AUTH, timeout=60)
    log = server.log.read_text()
    assert "GET /v1/models" in log
    assert "query-secret-abcdef" not in log
    assert "Traceback" not in log


# -- the fuzzer -------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["model", "messages", "stream", "n", "max_tokens", "temperature", "tools", "fusion"]
OPTIONS = ["panel", "judge", "web", "quorum", "deadline_s", "budget_usd", "preset", "seed", "x"]


@st.composite
def mutated_request(draw: st.DrawFn) -> Any:
    body: dict[str, Any] = json.loads(json.dumps(VALID))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        body[field] = draw(JSON)
    if draw(st.booleans()):
        options = draw(st.dictionaries(st.sampled_from(OPTIONS), JSON, max_size=3))
        body["fusion"] = {**options, "web": False}
    if draw(st.booleans()):
        body["messages"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"role": st.sampled_from(["user", "system", "tool", "x"]), "content": JSON}
                ),
                max_size=3,
            )
        )
    return body


REQUESTS = st.one_of(
    mutated_request().map(lambda b: ("POST", "/v1/chat/completions", json.dumps(b).encode())),
    JSON.map(lambda b: ("POST", "/v1/chat/completions", json.dumps(b).encode())),
    st.binary(max_size=200).map(lambda b: ("POST", "/v1/chat/completions", b)),
    st.tuples(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
        st.sampled_from(["/v1/models", "/v1/chat/completions", "/v1/x", "/docs", "/", "/v2"]),
        st.binary(max_size=50),
    ),
)


def test_fuzzed_requests_never_get_a_500(server: Server) -> None:
    """A bounded property-based run over the API (mutated valid requests, arbitrary
    JSON, arbitrary bytes, other methods and paths): no response may be a 500, every
    error is in OpenAI's shape, and the log holds no traceback."""
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=int(os.environ.get("FUSION_FUZZ_EXAMPLES", "250")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(request=REQUESTS)
    def one(request: tuple[str, str, bytes]) -> None:
        method, path, body = request
        response = httpx.request(
            method,
            f"{server.base}{path}",
            content=body,
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=120,
        )
        statuses[response.status_code] += 1
        assert response.status_code != 500, response.text
        if response.status_code >= 400 and method != "HEAD":
            assert "error" in response.json(), response.text

    one()
    print(f"fuzz statuses: {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) > 0 and statuses[500] == 0
    assert "Traceback" not in server.log.read_text()

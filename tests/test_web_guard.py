"""web_fetch's address rule: private, local and internal addresses are refused by
default, before any connection, on the first hop and on every redirect.

Only loopback is reachable in tests, so "a public host" is played by the test server
on 127.0.0.1 with the classifier patched to call exactly that address public; every
other private address stays refused, and a spy on the socket layer proves that no
connection to any other address is ever attempted.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest

from fusion.tools import netguard, web_fetch
from fusion.tools import tls as tls_module
from fusion.tools.netguard import address_kind, is_public_address
from tests.fixtures.web import call_tool
from tests.fixtures.web_server import ScriptedWebServer

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "private"),  # documentation range
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),  # documentation range
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("64:ff9b::808:808", None),  # NAT64 of 8.8.8.8: public
    ],
)
def test_address_classifier(address: str, kind: str | None) -> None:
    addr = ipaddress.ip_address(address)
    assert address_kind(addr) == kind
    assert is_public_address(addr) is (kind is None)


@pytest.fixture
def spy_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every address a TCP connection is actually opened to."""
    opened: list[str] = []
    real = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self: httpcore.AnyIOBackend, host: str, port: int, **kw: object):  # type: ignore[no-untyped-def]
        opened.append(host)
        return await real(self, host, port, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    yield opened


def local_urls(web: ScriptedWebServer) -> list[str]:
    port = web.port
    return [
        web.url("/page"),
        f"http://localhost:{port}/page",
        f"http://[::1]:{port}/page",
        f"http://[::ffff:127.0.0.1]:{port}/page",
        f"http://0.0.0.0:{port}/page",
        f"http://2130706433:{port}/page",  # 127.0.0.1 as one decimal number
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/admin",
        "http://[fe80::1]/",
        "file:///etc/passwd",
        "ftp://127.0.0.1/file",
        "gopher://127.0.0.1:6379/_INFO",
    ]


async def test_private_addresses_refused_by_default(
    web_strict_env: ScriptedWebServer, spy_connections: list[str]
) -> None:
    web_strict_env.page("/page", "secret intranet page", content_type="text/plain")

    for url in local_urls(web_strict_env):
        message = await call_tool(web_fetch, {"url": url})
        assert message.status == "error", url
        assert message.content.startswith("refused:"), (url, message.content)
        assert "secret" not in message.content

    assert web_strict_env.requests == []
    assert spy_connections == []


async def test_refusal_says_why(web_strict_env: ScriptedWebServer) -> None:
    message = await call_tool(web_fetch, {"url": "http://169.254.169.254/latest/meta-data/"})
    assert "169.254.169.254 is a cloud metadata address" in message.content
    assert "FUSION_FETCH_ALLOW_PRIVATE" in message.content

    message = await call_tool(web_fetch, {"url": "file:///etc/passwd"})
    assert "only http and https" in message.content and "not file" in message.content


async def test_allow_private_env_lifts_the_rule(
    web_strict_env: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = web_strict_env.page("/page", "intranet page", content_type="text/plain")
    monkeypatch.setenv("FUSION_FETCH_ALLOW_PRIVATE", "1")

    for target in (url, f"http://localhost:{web_strict_env.port}/page"):
        message = await call_tool(web_fetch, {"url": target})
        assert message.status == "success", message.content
        assert "intranet page" in message.content
    assert web_strict_env.hits("/page") == 2

    monkeypatch.setenv("FUSION_FETCH_ALLOW_PRIVATE", "0")
    assert (await call_tool(web_fetch, {"url": url})).status == "error"


async def test_allow_private_from_the_config_file(
    web_strict_env: ScriptedWebServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "allow.toml"
    config.write_text("fetch_allow_private = true\n")
    monkeypatch.setenv("FUSION_CONFIG", str(config))
    url = web_strict_env.page("/page", "intranet page", content_type="text/plain")

    message = await call_tool(web_fetch, {"url": url})

    assert message.status == "success"


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 (the test server) plays a public host; everything else keeps the rule."""
    real = netguard.is_public_address
    monkeypatch.setattr(netguard, "is_public_address", lambda addr: addr == LOOPBACK or real(addr))


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.1/admin",
        "http://127.0.0.2/",
        "http://[::1]/",
        "http://[::ffff:192.168.0.1]/",
        "file:///etc/passwd",
    ],
)
async def test_redirect_to_a_private_address_is_refused(
    web_strict_env: ScriptedWebServer,
    loopback_is_public: None,
    spy_connections: list[str],
    target: str,
) -> None:
    web = web_strict_env
    ok = web.page("/public", "a public page", content_type="text/plain")
    web.redirect("/go", target)

    assert (await call_tool(web_fetch, {"url": ok})).status == "success"
    message = await call_tool(web_fetch, {"url": web.url("/go")})

    assert message.status == "error"
    assert message.content.startswith("refused:"), message.content
    assert web.hits("/go") == 1
    assert set(spy_connections) == {"127.0.0.1"}  # nothing else was ever dialled


async def test_the_checked_address_is_the_one_dialled(
    web_strict_env: ScriptedWebServer,
    loopback_is_public: None,
    spy_connections: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name is resolved once, checked, and the socket opens to that very address,
    so a second, different DNS answer (rebinding) never gets a chance."""
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[netguard.IPAddress]:
        lookups.append(host)
        return [LOOPBACK] if host == "news.example" else [ipaddress.ip_address("10.9.9.9")]

    monkeypatch.setattr(netguard, "resolve", resolve)
    web_strict_env.page("/page", "hello", content_type="text/plain")

    message = await call_tool(web_fetch, {"url": f"http://news.example:{web_strict_env.port}/page"})

    assert message.status == "success"
    assert lookups == ["news.example"]
    assert spy_connections == ["127.0.0.1"]
    host_header = web_strict_env.requests[0].headers["Host"]
    assert host_header == f"news.example:{web_strict_env.port}"


async def test_unknown_host_is_reported(web_strict_env: ScriptedWebServer) -> None:
    message = await call_tool(web_fetch, {"url": "http://no-such-host.invalid/"})
    assert message.status == "error"
    assert "could not resolve" in message.content


def self_signed(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for `name` and its key, both PEM."""
    pytest.importorskip("cryptography")
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


async def test_https_checks_the_certificate_against_the_name_not_the_address(
    web_strict_env: ScriptedWebServer,
    loopback_is_public: None,
    spy_connections: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Dialling the checked IP must not weaken TLS: the certificate is still verified
    against the host name of the URL."""
    cert_pem, key_pem = self_signed("news.example")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    tls = ScriptedWebServer(ssl_context=server_side)
    try:
        tls.page("/secure", "over tls", content_type="text/plain")
        trusting = ssl.create_default_context(cadata=cert_pem.decode())
        monkeypatch.setattr(tls_module, "_context", trusting)

        async def resolve(host: str, port: int) -> list[netguard.IPAddress]:
            return [LOOPBACK]

        monkeypatch.setattr(netguard, "resolve", resolve)

        by_name = await call_tool(web_fetch, {"url": f"https://news.example:{tls.port}/secure"})
        by_address = await call_tool(web_fetch, {"url": tls.url("/secure")})
    finally:
        tls.stop()

    assert by_name.status == "success", by_name.content
    assert "over tls" in by_name.content
    assert by_address.status == "error"
    assert "could not connect" in by_address.content
    assert "certificate" in by_address.content.lower() or "ssl" in by_address.content.lower()
    assert spy_connections == ["127.0.0.1", "127.0.0.1"]

"""Keep web_fetch off the host's own network: the address rule and the guarded transport.

A model can be talked (by a page, or by a user) into fetching `http://169.254.169.254/`
or an intranet admin page. The rule: only public addresses, unless the operator lifts
it (`FUSION_FETCH_ALLOW_PRIVATE`). Checking the URL's host name is not enough, because
`localhost`, or any name whose DNS points at 127.0.0.1, is a host name too; so the rule
is applied to every address the name resolves to.

Where it is applied matters as much. The check lives in an httpcore network backend,
at the one moment a TCP connection is opened: the name is resolved there (on the event
loop, with `loop.getaddrinfo`), every address is checked, and the socket is opened to
the address just checked, never to a name resolved again later. So a DNS answer that
changes between check and connect (DNS rebinding) cannot slip through, every redirect
hop to a new host goes through the same gate, and TLS still verifies the certificate
against the host name, which httpcore passes on separately.

Limits: httpx has no public hook for a network backend, so `GuardedTransport` swaps the
connection pool that `httpx.AsyncHTTPTransport` builds (its `_pool` attribute, stable
since httpx 0.18; httpx is bounded in pyproject.toml and tests/test_private_hooks.py
fails if a release stops using it); and environment proxies are ignored
(`trust_env=False`), since behind a proxy the proxy resolves names and no address check
here could hold.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from fusion.tools.special_ranges import special_range

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = "cloud metadata"

# Prefixes whose last 32 bits are an IPv4 address the network reaches: NAT64's
# well-known prefix (RFC 6052), IPv4-compatible (deprecated) and IPv4-translated (SIIT).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CARRIES_IPV4 = tuple(
    ipaddress.IPv6Network(net) for net in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96")
)


class AddressRefused(Exception):
    """The host resolves to an address the fetch rule does not allow."""


class HostNotFound(Exception):
    """The host name does not resolve."""


def embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any.

    `::ffff:127.0.0.1` reaches 127.0.0.1, so it must be judged as 127.0.0.1.
    """
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if int(addr) > 1 and any(addr in net for net in _CARRIES_IPV4):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def address_kind(addr: IPAddress) -> str | None:
    """Why an address is not public (e.g. "loopback"), or None if it is public.

    Spelled out flag by flag because `is_global` alone lets multicast and IPv6
    site-local addresses through, and older Pythons judge IPv4-mapped addresses
    by their IPv6 form. Then the guard's own table (`special_ranges`), because the
    flags themselves differ between Python releases (CVE-2024-4032).
    """
    if isinstance(addr, ipaddress.IPv6Address):
        inner = embedded_ipv4(addr)
        if inner is not None:
            kind = address_kind(inner)
            if kind is not None or addr in _NAT64:
                return kind  # NAT64 of a public address is how IPv6-only hosts reach it
            return special_range(addr)  # mapped, 6to4...: refused whatever they carry
        if addr.is_site_local:
            return "site-local"
    checks = (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
        ("non-public", not addr.is_global),
    )
    flagged = next((kind for kind, hit in checks if hit), None)
    special = special_range(addr)
    if special == METADATA or flagged is None:
        return special
    return flagged


def is_public_address(addr: IPAddress) -> bool:
    """True for addresses on the public internet; the one rule the guard applies.

    Tests replace this function (module attribute) to make a loopback test server
    count as "public" while other private addresses stay refused.
    """
    return address_kind(addr) is None


def refusal(host: str, addr: IPAddress) -> str:
    """The message that tells the model (and the operator) why a host was refused."""
    kind = address_kind(addr) or "non-public"
    shown = host if host == str(addr) else f"{host} ({addr})"
    return (
        f"refused: {shown} is a {kind} address; pages on private, local or internal "
        "networks are not fetched (an operator can allow them with "
        "FUSION_FETCH_ALLOW_PRIVATE=1)"
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, without blocking the event loop."""
    literal = host.strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(literal, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"could not resolve the host name {host!r}") from exc
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        addr = ipaddress.ip_address(str(sockaddr[0]))
        if addr not in found:
            found.append(addr)
    if not found:
        raise HostNotFound(f"could not resolve the host name {host!r}")
    return found


async def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Resolve `host` and apply the rule: any non-public address refuses the host.

    Refusing on any (not only all) keeps a name with one public and one private
    record from being a coin toss. Cloud metadata addresses are refused even when the
    operator allows private ones: they hand out the host's credentials.
    """
    addrs = await resolve(host, port)
    for addr in addrs:
        if allow_private and address_kind(addr) == METADATA:
            raise AddressRefused(
                f"refused: {host} ({addr}) is a cloud metadata address, which is never "
                "fetched, even when private addresses are allowed"
            )
        if not allow_private and not is_public_address(addr):
            raise AddressRefused(refusal(host, addr))
    return addrs


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses it has just checked."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addrs = await checked_addresses(host, port, allow_private=self.allow_private)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        error: Exception | None = None
        for addr in addrs:
            try:
                return await self._inner.connect_tcp(
                    str(addr),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("refused: unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose every connection goes through `GuardedBackend`."""

    def __init__(self, *, allow_private: bool, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=8,
            max_keepalive_connections=4,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private=allow_private),
        )

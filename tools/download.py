"""Download one URL for web_fetch, within bounds: schemes, redirects, time and bytes.

Everything here is about what a hostile or broken server can do to the host: send
200 MB, a gzip bomb, a redirect loop, a redirect to `file:` or to the cloud metadata
address, a video, or nothing at all, slowly. Each case ends in `FetchError`, a
`ToolException` whose message tells the model what happened so it can try another
source. Turning the bytes into text is `extract.py`'s job.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

import httpx
from langchain_core.tools import ToolException

from fusion.tools.netguard import AddressRefused, GuardedTransport, HostNotFound
from fusion.tools.tls import shared_ssl_context

Kind = Literal["html", "text", "json", "pdf"]

USER_AGENT = "Mozilla/5.0 (compatible; FusionFetch/0.1; +https://github.com/fusion-panel)"
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,"
    "application/pdf;q=0.8,*/*;q=0.5",
    # Only encodings the bounded decoder below can inflate a piece at a time.
    "Accept-Encoding": "gzip, deflate",
}
CHUNK = 64 * 1024


class FetchError(ToolException):
    """A refusal or failure, worded for the model."""


@dataclass(frozen=True)
class FetchLimits:
    """The bounds of one fetch. Module-level `LIMITS` is what the tool uses."""

    max_redirects: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # between two pieces of the body, not for the whole body
    total_timeout: float = 60.0  # the whole fetch, redirects and extraction included
    max_bytes: int = 3_000_000  # pages and text: read this much, then stop and use it
    max_pdf_bytes: int = 20_000_000  # a PDF can't be read in part: refuse past this
    # Extraction (in a worker process, see extract_pool.py): what one page may cost.
    extract_cpu_s: float = 3.0  # CPU-seconds; the kernel stops the worker past this
    extract_wall_s: float = 8.0  # wall-clock seconds; the worker is killed past this
    extract_memory: int = 112 * 2**20  # bytes of memory above the worker's baseline
    max_pdf_pages: int = 100
    max_text_chars: int = 1_000_000  # the most text one page yields


LIMITS = FetchLimits()


@dataclass(frozen=True)
class Download:
    """The body of the final response, at most the byte cap of its kind."""

    url: str
    kind: Kind
    content_type: str
    charset: str | None
    body: bytes
    cut: bool  # the download stopped at the byte cap; the page is longer


def parse_target(url: str) -> httpx.URL:
    """The URL to fetch, or a refusal for anything but a plain http(s) URL."""
    url = url.strip()
    if len(url) > 4096:
        raise FetchError("refused: the URL is longer than 4096 characters")
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"not a valid URL: {url[:200]!r} ({exc})") from None
    _check_scheme(target, url)
    if not target.host:
        raise FetchError(f"not a valid URL (no host): {url[:200]!r}")
    return target.copy_with(fragment=None)


def _check_scheme(target: httpx.URL, shown: str) -> None:
    if not target.scheme:
        raise FetchError(f"not a full URL: start it with https:// or http:// ({shown[:200]})")
    if target.scheme not in ("http", "https"):
        raise FetchError(
            f"refused: only http and https URLs can be fetched, not {target.scheme} ({shown[:200]})"
        )


def content_kind(content_type: str, head: bytes) -> Kind | None:
    """What the body is, from its declared type, sniffing the first bytes when the
    type is missing or generic; None for binary content."""
    mime = content_type.split(";")[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime == "application/json" or mime.endswith("+json"):
        return "json"
    if mime == "application/pdf":
        return "pdf"
    if mime.startswith("text/") or mime.endswith("+xml") or mime in _TEXTUAL:
        return "text"
    if mime and mime not in ("application/octet-stream", "binary/octet-stream"):
        return None
    start = head.lstrip()[:64].lower()
    if start.startswith(b"%pdf-"):
        return "pdf"
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    sample = head[:2048]
    if not sample or (b"\x00" not in sample and _printable_share(sample) > 0.95):
        return "text"  # an empty body is an empty page, not binary data
    return None


_TEXTUAL = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/x-ndjson",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/csv",
        "application/x-sh",
        "application/sql",
    }
)


def _printable_share(sample: bytes) -> float:
    printable = sum(1 for b in sample if b >= 0x20 or b in (0x09, 0x0A, 0x0D))
    return printable / len(sample)


async def download(url: str, *, allow_private: bool, limits: FetchLimits) -> Download:
    """GET `url`, following at most `limits.max_redirects` redirects, each hop to a
    checked http(s) address, and read a bounded body."""
    target = parse_target(url)
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    transport = GuardedTransport(
        allow_private=allow_private, ssl_context=await shared_ssl_context()
    )
    async with httpx.AsyncClient(
        transport=transport,
        headers=HEADERS,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    ) as client:
        try:
            return await _follow(client, client.build_request("GET", target), limits)
        except FetchError:
            raise
        except (AddressRefused, HostNotFound) as exc:
            raise FetchError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise FetchError(_transport_message(exc, target)) from None


async def _follow(
    client: httpx.AsyncClient, request: httpx.Request, limits: FetchLimits
) -> Download:
    visited = {str(request.url)}
    for _ in range(limits.max_redirects + 1):
        response = await client.send(request, stream=True)
        try:
            if response.next_request is None:
                return await _read(response, limits)
            request = response.next_request
        finally:
            await response.aclose()
        url = str(request.url)
        _check_scheme(request.url, url)
        if url in visited:
            raise FetchError(
                f"refused: redirect loop ({shown_url(response.url)} redirects back to "
                f"{shown_url(url)}, a URL already visited)"
            )
        visited.add(url)
    raise FetchError(
        f"refused: more than {limits.max_redirects} redirects (last: {shown_url(request.url)})"
    )


async def _read(response: httpx.Response, limits: FetchLimits) -> Download:
    status = response.status_code
    if not 200 <= status < 300:
        # the server's own reason phrase is its text, not ours: the standard one is shown
        raise FetchError(
            f"the server answered HTTP {status_line(status)} for {shown_url(response.url)}"
        )
    content_type = response.headers.get("content-type", "")
    chunks = _BoundedBody(response)
    head = await chunks.first(limits.max_bytes)
    kind = content_kind(content_type, head)
    shown_type = header_token(content_type.split(";")[0]) or (
        "of an unrecognised type" if content_type.strip() else "unlabelled binary data"
    )
    if kind is None:
        raise FetchError(
            f"refused: {shown_url(response.url)} is {shown_type}, binary content that "
            "web_fetch does not read; try another source"
        )
    cap = limits.max_pdf_bytes if kind == "pdf" else limits.max_bytes
    declared = response.headers.get("content-length", "")
    if kind == "pdf" and declared.isdigit() and int(declared) > cap:
        raise FetchError(
            f"refused: the PDF is {int(declared):,} bytes, over the {cap:,}-byte limit"
        )
    body, cut = await chunks.rest(cap)
    if kind == "pdf" and cut:
        raise FetchError(f"refused: the PDF is over the {cap:,}-byte limit")
    return Download(
        url=str(response.url),
        kind=kind,
        content_type=shown_type,
        charset=response.charset_encoding,
        body=body,
        cut=cut,
    )


class _BoundedBody:
    """Reads a streamed body piece by piece, inflating gzip/deflate itself with a
    bounded output size, and stops once the cap is passed: neither a 200 MB body nor
    a gzip bomb is ever held in memory."""

    def __init__(self, response: httpx.Response) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._inflater: zlib._Decompress | None = zlib.decompressobj(wbits=47)
        elif encoding in ("identity", ""):
            self._inflater = None
        else:
            shown = header_token(encoding) or "an unrecognised one"
            raise FetchError(f"refused: unsupported content encoding ({shown})")
        self._raw = response.aiter_raw(CHUNK)
        self._buf = bytearray()
        self._done = False

    async def first(self, cap: int) -> bytes:
        """At least one non-empty piece (if the body has one), for sniffing."""
        while not self._buf and not self._done:
            await self._pull(cap)
        return bytes(self._buf[:2048])

    async def rest(self, cap: int) -> tuple[bytes, bool]:
        while not self._done and len(self._buf) <= cap:
            await self._pull(cap)
        if len(self._buf) > cap:
            return bytes(self._buf[:cap]), True
        return bytes(self._buf), False

    async def _pull(self, cap: int) -> None:
        try:
            raw = await anext(self._raw)
        except StopAsyncIteration:
            self._done = True
            return
        if self._inflater is None:
            self._buf += raw
            return
        room = cap + 1 - len(self._buf)
        try:
            self._buf += self._inflater.decompress(raw, max(room, 1))
        except zlib.error:
            raise FetchError("the server sent a corrupt compressed body") from None


def _transport_message(exc: httpx.HTTPError, target: httpx.URL) -> str:
    host = target.host
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connecting to {host} timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return f"{host} stopped sending data (read timeout); try another source"
    if isinstance(exc, httpx.TimeoutException):
        return f"fetching from {host} timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect to {host}: {_short(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        # the parser's message quotes the server's bytes: say what happened, not what it sent
        return f"{host} sent a malformed HTTP response (a bad status or header line)"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"refused: unsupported URL scheme ({_short(exc)})"
    return f"fetching {target} failed: {type(exc).__name__}: {_short(exc)}"


_WORD = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}"
_TOKEN = re.compile(rf"{_WORD}(?:/{_WORD})?")


def header_token(value: str) -> str:
    """A header value (a media type, an encoding) as shown to the model: only when it
    is one plain token, else "" (the caller says "unrecognised"). Whatever else a
    server writes in a header never reaches the model."""
    value = value.strip()
    return value.lower() if _TOKEN.fullmatch(value) else ""


def status_line(status: int) -> str:
    """`404 Not Found`, with the standard phrase, whatever the server wrote after it."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def shown_url(url: httpx.URL | str) -> str:
    """A URL a server chose (a redirect target) as shown in a message: percent-encoded
    by httpx, so it holds no spaces or line breaks, and cut to 200 characters."""
    text = str(url)
    return text if len(text) <= 200 else text[:200] + "..."


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]

"""Hostile bodies for web_fetch: small on the wire, expensive to read.

Each builder returns `(body, content_type, headers)` ready for `ScriptedWebServer.page`.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

Bomb = tuple[bytes, str, dict[str, str]]


def html_elements_gzip() -> Bomb:
    """~3 MB of tiny nested elements, gzipped to a few KB (lxml and trafilatura spend
    tens of CPU-seconds and hundreds of MB on it)."""
    html = b"<html><body>" + b"<div><a>x</a></div>" * 160_000 + b"</body></html>"
    return gzip.compress(html, 9), "text/html", {"Content-Encoding": "gzip"}


def html_deep_nesting() -> Bomb:
    """Elements nested hundreds of thousands deep."""
    html = b"<html><body>" + b"<div><span>" * 150_000 + b"deep" + b"</span></div>" * 150_000
    return zlib.compress(html, 9), "text/html; charset=utf-8", {"Content-Encoding": "deflate"}


def html_wide_table() -> Bomb:
    """One table of a quarter of a million empty cells (trafilatura keeps tables)."""
    html = b"<html><body><table>" + b"<tr>" + b"<td></td>" * 250_000 + b"</tr></table></body>"
    return gzip.compress(html, 9), "text/html", {"Content-Encoding": "gzip"}


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (object 1 is the catalog), with its xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(data: bytes) -> bytes:
    packed = zlib.compress(data, 9)
    head = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
    return head + packed + b"\nendstream"


def pdf_empty_text_pages(pages: int = 300) -> Bomb:
    """`pages` pages sharing one compressed content stream of empty text operations."""
    ops = b"BT /F1 1 Tf 0 0 Td () Tj ET\n" * 40_000
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        _stream(ops),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    )
    objects += [page] * pages
    return _pdf(objects), "application/pdf", {}


def pdf_stream_bomb() -> Bomb:
    """One page whose content stream inflates from ~250 KB to 256 MB."""
    packed = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    data = b"".join(packed.compress(zeros) for _ in range(256)) + packed.flush()
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        stream,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>",
    ]
    return _pdf(objects), "application/pdf", {}


FAMILIES: dict[str, Callable[[], Bomb]] = {
    "html_elements_gzip": html_elements_gzip,
    "html_deep_nesting": html_deep_nesting,
    "html_wide_table": html_wide_table,
    "pdf_empty_text_pages": pdf_empty_text_pages,
    "pdf_stream_bomb": pdf_stream_bomb,
}

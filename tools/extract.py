"""Turn a downloaded body into the text a model should read, and a title.

A model reading raw HTML spends its context on menus, footers and cookie banners;
trafilatura keeps the main text. These functions are synchronous and CPU-bound
(lxml parsing, PDF decoding), and a hostile body can make them very expensive, so
they run in a separate, limited and killable process (`extract_worker.py`, fed by
`extract_pool.py`). That process loads this file on its own, without the rest of
Fusion, so this module imports nothing from Fusion (and no secrets or network code
come along).
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 100
# Decoders that are not plain character sets: they interpret escapes (and so can
# produce lone surrogates or any text from ASCII), or are not meant for documents.
_UNSAFE_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "utf_7", "punycode", "idna", "undefined", "palmos"}
)
_SURROGATES = re.compile("[\ud800-\udfff]")


class ExtractError(Exception):
    """The body can't be turned into text; the message is worded for the model."""


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    complete: bool = True  # False: only the first part of the document was read


def extract(
    body: bytes,
    kind: str,
    charset: str | None,
    *,
    url: str | None = None,
    enough_chars: int,
    max_pages: int = MAX_PDF_PAGES,
) -> Extracted:
    """The readable text of a body of `kind` (html, pdf, text, json); `enough_chars`
    lets slow formats (PDF) stop early. The text never holds a lone surrogate."""
    if kind == "pdf":
        got = pdf_text(body, enough_chars=enough_chars, max_pages=max_pages)
    elif kind == "html":
        got = html_text(body, charset, url=url)
    else:
        got = Extracted(title="", text=decode(body, charset).strip())
    return Extracted(title=clean(got.title), text=clean(got.text), complete=got.complete)


def clean(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD: such text can't be encoded
    as UTF-8, so one would fail the model call that carries it."""
    return _SURROGATES.sub("\ufffd", text)


def decode(body: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset when it is a real character set, else
    UTF-8; bad bytes become U+FFFD and the result has no lone surrogates."""
    encoding = charset if charset and safe_charset(charset) else "utf-8"
    try:
        text = body.decode(encoding, errors="replace")
    except Exception:  # a codec that fails even with errors="replace"
        text = body.decode("utf-8", errors="replace")
    return clean(text)


def safe_charset(charset: str) -> bool:
    """Whether `charset` names a plain text encoding Python knows (not an escape codec
    like `unicode_escape`, not a bytes-to-bytes codec like `zlib`)."""
    try:
        info = codecs.lookup(charset)
        b"".decode(info.name)  # refuses codecs that are not text encodings
    except (LookupError, ValueError, TypeError):
        return False
    return info.name.replace("-", "_") not in _UNSAFE_CODECS


def html_text(body: bytes, charset: str | None, *, url: str | None = None) -> Extracted:
    """Main text of an HTML page (trafilatura), else the plain text of the whole page."""
    import trafilatura  # heavy import (lxml, justext, htmldate): only when a page is read

    if not charset:
        found = _META_CHARSET.search(body[:4096])
        charset = found.group(1).decode("ascii", "replace") if found else None
    html = decode(body, charset)
    text, title = "", ""
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_links=False,
            include_images=False,
        )
    except Exception:  # a parser failure must not lose the page: fall back below
        log.debug("trafilatura failed on %s", url, exc_info=True)
        doc = None
    if doc is not None and not isinstance(doc, dict):
        text = (doc.text or "").strip()
        title = (doc.title or "").strip()
    if not text:
        try:
            text = trafilatura.html2txt(html).strip()
        except Exception:
            log.debug("html2txt failed on %s", url, exc_info=True)
            text = re.sub(r"<[^>]+>", " ", html)
            text = " ".join(text.split())
    return Extracted(title=title or _html_title(body, charset), text=text)


def _html_title(body: bytes, charset: str | None) -> str:
    found = _TITLE.search(body[:200_000])
    if not found:
        return ""
    import html as html_lib

    return " ".join(html_lib.unescape(decode(found.group(1), charset)).split())


def pdf_text(body: bytes, *, enough_chars: int, max_pages: int = MAX_PDF_PAGES) -> Extracted:
    """Text of a PDF's pages in order (pypdf), stopping once there is enough to show
    or after `max_pages` pages."""
    try:
        from pypdf import PdfReader
    except ImportError:  # the dependency is declared, but say so clearly if it is gone
        raise ExtractError("refused: this is a PDF and PDF reading is not installed") from None
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("refused: the PDF is password-protected")
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title).strip()
        parts: list[str] = []
        total = 0
        complete = True
        for number, page in enumerate(reader.pages):
            if number >= max_pages or total > enough_chars:
                complete = False
                break
            part = (page.extract_text() or "").strip()
            parts.append(part)
            total += len(part)
    except ExtractError:
        raise
    except Exception as exc:  # the library's words about a hostile file: its name only
        raise ExtractError(f"could not read the PDF ({type(exc).__name__})") from None
    text = "\n\n".join(p for p in parts if p).strip()
    if not text:
        raise ExtractError("the PDF has no text layer (scanned pages?); try another source")
    return Extracted(title=title, text=text, complete=complete)

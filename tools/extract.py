"""Turn a downloaded body into the text a model should read, and a title.

A model reading raw HTML spends its context on menus, footers and cookie banners;
trafilatura keeps the main text. These functions are synchronous and CPU-bound
(lxml parsing, PDF decoding): the caller runs them in a worker thread so the event
loop, and the other panelists on it, never wait on them.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass

from fusion.tools.download import Download, FetchError

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 300
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    complete: bool = True  # False: only the first part of the document was read


def extract(download: Download, *, enough_chars: int) -> Extracted:
    """The readable text of `download`; `enough_chars` lets slow formats (PDF) stop early."""
    if download.kind == "pdf":
        return pdf_text(download.body, enough_chars=enough_chars)
    if download.kind == "html":
        return html_text(download.body, download.charset, url=download.url)
    return Extracted(title="", text=decode(download.body, download.charset).strip())


def decode(body: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset, else UTF-8; bad bytes become U+FFFD."""
    encoding = charset if charset and _known(charset) else "utf-8"
    return body.decode(encoding, errors="replace")


def _known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True


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


def pdf_text(body: bytes, *, enough_chars: int) -> Extracted:
    """Text of a PDF's pages in order (pypdf), stopping once there is enough to show."""
    try:
        from pypdf import PdfReader
    except ImportError:  # the dependency is declared, but say so clearly if it is gone
        raise FetchError("refused: this is a PDF and PDF reading is not installed") from None
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FetchError("refused: the PDF is password-protected")
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title).strip()
        parts: list[str] = []
        total = 0
        complete = True
        for number, page in enumerate(reader.pages):
            if number >= MAX_PDF_PAGES or total > enough_chars:
                complete = False
                break
            part = (page.extract_text() or "").strip()
            parts.append(part)
            total += len(part)
    except FetchError:
        raise
    except Exception as exc:
        raise FetchError(f"could not read the PDF: {type(exc).__name__}: {exc}"[:240]) from None
    text = "\n\n".join(p for p in parts if p).strip()
    if not text:
        raise FetchError("the PDF has no text layer (scanned pages?); try another source")
    return Extracted(title=title, text=text, complete=complete)

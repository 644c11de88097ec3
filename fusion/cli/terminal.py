"""Text from outside, printed as data: never Rich markup, never terminal control.

Everything a model, a page, a search query, a URL or the user wrote reaches the
terminal through `data()` (a `rich.text.Text`, which Rich never parses as markup)
after `clean()`, which shows control characters (ANSI/OSC escapes, carriage returns,
bells...) as visible symbols instead of sending them to the terminal.

Rich is imported only when a `Text` is made, so refusals stay fast.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.markdown import Markdown
    from rich.text import Text

__all__ = ["StatusLine", "clean", "data", "markdown", "one_line"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control picture: ESC shows as ␛
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # a C1 control (CSI, OSC... as single bytes)


def clean(text: str) -> str:
    """`text` with every control character but newline and tab made visible."""
    return _CONTROL.sub(_picture, text.replace("\r\n", "\n"))


def one_line(text: str) -> str:
    """`clean(text)` on one line: runs of whitespace (newlines too) become one space."""
    return clean(" ".join(text.split()))


def data(text: object, style: str = "") -> Text:
    """Outside text as a Rich renderable that is printed exactly as written."""
    from rich.text import Text

    return Text(clean(str(text)), style=style)


def markdown(text: str) -> Markdown:
    """A model's Markdown, rendered: no terminal hyperlinks, so a link's text never
    hides where it points (the address is printed after it)."""
    from rich.markdown import Markdown

    return Markdown(clean(text), hyperlinks=False)


class StatusLine:
    """One line on stderr that says what is happening before Rich is even imported
    (so something is on screen right after Enter), rewritten in place and erased
    before anything else is printed. Silent unless stderr is a terminal."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\x1b[2K\x1b[2m{clean(text)}\x1b[0m")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False

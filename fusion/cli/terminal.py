"""Text from outside, printed as data: never Rich markup, never terminal control.

Everything a model, a page, a search query, a URL or the user wrote reaches the
terminal through `data()` (a `rich.text.Text`, which Rich never parses as markup)
after `clean()`, which shows control characters (ANSI/OSC escapes, carriage returns,
bells...) as visible symbols instead of sending them to the terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

__all__ = ["clean", "data", "one_line"]

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
    return Text(clean(str(text)), style=style)

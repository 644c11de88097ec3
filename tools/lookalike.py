# ruff: noqa: RUF001, RUF002  (the look-alike characters are the point of this module)
"""Defusing text that imitates a fence's markers: case, spacing, invisible characters
and homoglyphs included.

A fence's end marker (`<<<END UNTRUSTED WEB CONTENT id=...>>>`, or a draft's
`</response>`) only works if the model can't be shown a convincing copy. Exact copies
are easy to catch; `<<<end  untrusted`, `<<<EN\\u200bD UNTRUSTED`, `<<<ЕND UNTRUSTED`
(a Cyrillic Е) or `＜＜＜END` read the same to a model. So the text is compared
through a skeleton: NFKC, case-folded, with invisible (format) characters and
whitespace dropped and common Cyrillic and Greek look-alikes mapped to Latin letters.
Wherever the skeleton holds a marker, the original characters are replaced.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

REMOVED = "<<(marker removed)"
_LESS_THAN = "<‹«〈⟨˂ᐸ❮＜﹤"
_ANGLES = frozenset(_LESS_THAN)
_SURROGATES = re.compile("[\\ud800-\\udfff]")
# Look-alikes of the Latin letters and of "<" / ">" that NFKC leaves alone.
_HOMOGLYPHS = str.maketrans(
    {
        **dict.fromkeys(_LESS_THAN[1:], "<"),
        **dict.fromkeys("›»〉⟩˃ᐳ❯", ">"),
        **dict.fromkeys("аα", "a"),
        **dict.fromkeys("вβ", "b"),
        **dict.fromkeys("сϲ", "c"),
        **dict.fromkeys("ԁ", "d"),
        **dict.fromkeys("еεэ", "e"),
        **dict.fromkeys("һ", "h"),
        **dict.fromkeys("іιı", "i"),
        **dict.fromkeys("ј", "j"),
        **dict.fromkeys("кκ", "k"),
        **dict.fromkeys("ӏ", "l"),
        **dict.fromkeys("м", "m"),
        **dict.fromkeys("пηո", "n"),
        **dict.fromkeys("оοօ", "o"),
        **dict.fromkeys("рρ", "p"),
        **dict.fromkeys("ѕ", "s"),
        **dict.fromkeys("тτ", "t"),
        **dict.fromkeys("υս", "u"),
        **dict.fromkeys("νѵ", "v"),
        **dict.fromkeys("ԝω", "w"),
        **dict.fromkeys("хχ", "x"),
        **dict.fromkeys("уγ", "y"),
    }
)


def clean(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (no model call can carry one)."""
    return _SURROGATES.sub("\ufffd", text)


def _skeleton_of(char: str) -> str:
    if unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp", "Cc", "Mn") or char.isspace():
        return ""
    return unicodedata.normalize("NFKC", char).casefold().translate(_HOMOGLYPHS)


def skeleton(text: str) -> tuple[str, list[int]]:
    """The comparison form of `text`, and for each of its characters the index of the
    original character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in _skeleton_of(char):
            chars.append(piece)
            origin.append(index)
    return "".join(chars), origin


def defuse(
    text: str, markers: Iterable[str], replacement: str | Callable[[str], str] = REMOVED
) -> str:
    """`text` with every look-alike of a marker replaced (by `replacement`, or by what
    it returns for the original characters). `markers` are given in skeleton form
    (lower case, no spaces), e.g. `"<<<enduntrusted"`."""
    wanted = [m for m in markers if m]
    if not wanted:
        return text
    if _ANGLES.isdisjoint(text):  # every marker starts with "<" or a look-alike of it
        return text
    flat, origin = skeleton(text)
    pattern = re.compile("|".join(re.escape(m) for m in wanted))
    spans: list[tuple[int, int]] = []
    for found in pattern.finditer(flat):
        spans.append((origin[found.start()], origin[found.end() - 1] + 1))
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        out.append(text[last:start])
        out.append(replacement if isinstance(replacement, str) else replacement(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)

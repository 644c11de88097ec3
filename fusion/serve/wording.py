"""Refusals in the words of the interface that reads them.

Fusion's checks name the fix as a CLI user would type it (`--no-web`, `--budget`);
an API client sets options in the request's `fusion` object instead. `for_api()`
rewrites each run flag into the request option it stands for. Both are derived from
the same `Context` field (`fusion.core.options.flag_words`), so the two never drift apart.
"""

from __future__ import annotations

from functools import cache

from fusion.core.options import flag_words, reword


@cache
def _options() -> dict[str, str]:
    """`--flag` -> how the `fusion` object says it."""
    return flag_words(
        lambda field, off: f"`fusion.{field.name}: false`" if off else f"`fusion.{field.name}`"
    )


def for_api(message: str) -> str:
    """`message` with every run flag replaced by its request option."""
    return reword(message, _options())

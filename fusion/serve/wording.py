"""Refusals in the words of the interface that reads them.

Fusion's checks name the fix as a CLI user would type it (`--no-web`, `--budget`);
an API client sets options in the request's `fusion` object instead. `for_api()`
rewrites each run flag into the request option it stands for. Both are derived from
the same `Context` field (`fusion.core.options.flag_of`), so the two never drift apart.
"""

from __future__ import annotations

import re
from functools import cache

from fusion.core.options import flag_of, option_fields

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


@cache
def _options() -> dict[str, str]:
    """`--flag` -> how the `fusion` object says it."""
    words: dict[str, str] = {}
    for field in option_fields("serve"):
        flag = flag_of(field)
        if flag.startswith("--no-") and field.default is True:
            words[flag] = f"`fusion.{field.name}: false`"
        else:
            words[flag] = f"`fusion.{field.name}`"
    return words


def for_api(message: str) -> str:
    """`message` with every run flag replaced by its request option."""
    words = _options()
    return _FLAG.sub(lambda m: words.get(m.group(0), m.group(0)), message)

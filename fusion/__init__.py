"""Fusion: one prompt, a panel of models with web tools, one judged answer.

The public face is small and imported lazily, so `fusion --help` and
`import fusion` stay fast: `fuse`, `rejudge`, `build_graph`, `FusionResult`, `Context`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fusion.api import fuse
    from fusion.core.context import Context
    from fusion.graph.builder import build_graph
    from fusion.rejudging import rejudge
    from fusion.result import FusionResult

__all__ = ["Context", "FusionResult", "build_graph", "fuse", "rejudge"]

_LAZY = {
    "fuse": "fusion.api",
    "rejudge": "fusion.rejudging",
    "build_graph": "fusion.graph.builder",
    "Context": "fusion.core.context",
    "FusionResult": "fusion.result",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fusion' has no attribute {name!r}")

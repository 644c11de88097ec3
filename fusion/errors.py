"""Errors Fusion raises on purpose; their home is `fusion.core.errors`."""

from __future__ import annotations

from fusion.core.errors import ConfigError, FusionError, SetupError

__all__ = ["ConfigError", "FusionError", "SetupError"]

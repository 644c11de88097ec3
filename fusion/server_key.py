"""The key `fusion serve` and its web page ask for: `FUSION_SERVER_API_KEY`.

Read from the environment on every request (never stored), so a deployment can
rotate it without a code change; without it the server is open, which suits
127.0.0.1. Compared in constant time.
"""

from __future__ import annotations

import hmac
import os

SERVER_KEY_ENV = "FUSION_SERVER_API_KEY"


def server_key() -> str | None:
    """The server's key, or None when the server is open."""
    return os.environ.get(SERVER_KEY_ENV) or None


def key_matches(given: str) -> bool:
    """Whether `given` is the server's key (False when the server has none)."""
    key = server_key()
    return key is not None and hmac.compare_digest(given.strip().encode(), key.encode())

"""The TLS context the web tools share, built once and off the event loop.

Building one reads the CA bundle from disk, and httpx builds one for every client
it creates unless handed one; the tools create a client per call, so they share
this one instead, and the event loop never waits on that file read.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx

_context: ssl.SSLContext | None = None


async def shared_ssl_context() -> ssl.SSLContext:
    """The process's client TLS context (certifi's CA bundle, hostname checks on)."""
    global _context
    if _context is None:
        _context = await asyncio.to_thread(httpx.create_ssl_context, trust_env=False)
    return _context

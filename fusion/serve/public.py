"""What an API client may read of an error: no keys, no internal addresses.

A server's errors travel to whoever called it. A 503 that names the provider's URL
(`http://10.0.3.7:8000/v1`), or a connection error that quotes it, tells a stranger
where the operator's model servers are. So every message an API client gets goes
through `public()`: secrets are redacted (`fusion.core.redact`), and each URL whose
host is a configured provider or search endpoint, or is not a public name or address,
becomes `[internal URL]`. The server's own log keeps the full text (redacted of keys).
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from fusion.core.errors import ConfigError
from fusion.core.redact import redact
from fusion.core.settings import load_settings

HIDDEN = "[internal URL]"
_URL = re.compile(r"""\b[a-z][a-z0-9+.-]*://[^\s'"<>()\[\]{},]+""", re.I)
_INTERNAL_SUFFIXES = (".internal", ".local", ".localdomain", ".lan", ".home", ".corp", ".svc")
_ENDPOINT_ENVS = ("FUSION_BASE_URL", "TAVILY_BASE_URL", "OPENAI_BASE_URL")


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def endpoint_hosts() -> set[str]:
    """Hosts of every endpoint the operator configured (providers, search)."""
    hosts = {_host(os.environ.get(name, "")) for name in _ENDPOINT_ENVS}
    try:
        settings = load_settings()
    except ConfigError:
        settings = None
    if settings is not None:
        hosts |= {_host(spec.base_url) for spec in settings.providers.values()}
    hosts.discard("")
    return hosts


def is_internal_host(host: str) -> bool:
    """Loopback, private and other non-public addresses, and names no public DNS has."""
    if not host:
        return True
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host or host.endswith(_INTERNAL_SUFFIXES) or host == "localhost"
    return not addr.is_global


def public(message: str) -> str:
    """`message` as an API client may see it."""
    message = redact(message)
    if "://" not in message:
        return message
    configured = endpoint_hosts()

    def hide(match: re.Match[str]) -> str:
        host = _host(match.group(0))
        return HIDDEN if host in configured or is_internal_host(host) else match.group(0)

    return _URL.sub(hide, message)

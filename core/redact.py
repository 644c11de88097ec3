"""Secrets out of every message Fusion logs, returns or checkpoints.

A provider that echoes the request's `Authorization` header in its error, a proxy
that puts the key in a URL, a traceback that prints a client's settings: each would
carry a key into `failed_models[].message`, the checkpoint database, a served error
or a log line. `redact()` is applied where such text leaves a call (the failure
classifier, the servers' error bodies, log records), and removes:

- every configured key: the value of any environment variable whose name says it
  holds a secret (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, ...), and every key a provider
  call actually used (`note_secret`), whatever its variable is called;
- anything shaped like a credential: `Bearer ...`/`Basic ...` values, `sk-...`,
  `tvly-...`, GitHub, Slack, AWS and Google key formats, JWTs, and `key=`/`token=`
  parameters in URLs and query strings.
"""

from __future__ import annotations

import logging
import os
import re
import threading

MASK = "[redacted]"
MIN_SECRET = 8  # shorter values are not masked: they would mangle ordinary words

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)$", re.I
)
_SHAPES = re.compile(
    r"""
    (?P<scheme>\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}
    | (?P<param>\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|key)
        ["']?\s*[=:]\s*["']?)[^\s&"',;]{8,}
    | \bsk-(?:or-v1-|proj-|ant-)?[A-Za-z0-9_-]{16,}
    | \btvly-[A-Za-z0-9_-]{8,}
    | \bgh[pousr]_[A-Za-z0-9]{20,}
    | \bxox[abprs]-[A-Za-z0-9-]{10,}
    | \bAKIA[0-9A-Z]{16}\b
    | \bAIza[0-9A-Za-z_-]{35}
    | \beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}
    """,
    re.I | re.X,
)

_noted: set[str] = set()
_lock = threading.Lock()


def note_secret(value: str | None) -> None:
    """Remember a secret that was used (a provider key), so messages never show it."""
    if value and len(value) >= MIN_SECRET:
        with _lock:
            _noted.add(value)


def configured_secrets() -> list[str]:
    """Every secret known now, longest first (so a key containing another goes whole)."""
    found = {
        value
        for name, value in os.environ.items()
        if len(value) >= MIN_SECRET and _SECRET_NAME.search(name)
    }
    with _lock:
        found |= _noted
    return sorted(found, key=len, reverse=True)


def _mask_shape(match: re.Match[str]) -> str:
    prefix = match.group("scheme") or match.group("param") or ""
    return prefix + MASK


def redact(text: str) -> str:
    """`text` with every configured secret and credential-shaped string masked."""
    if not text:
        return text
    for secret in configured_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return _SHAPES.sub(_mask_shape, text)


def _redact_arg(arg: object) -> object:
    if arg is None or isinstance(arg, bool | int | float):
        return arg
    return redact(arg if isinstance(arg, str) else str(arg))


class _RedactingFactory:
    """A log record factory that redacts the message and any traceback at creation,
    so every handler (ours, uvicorn's, LangGraph's) only ever sees redacted text."""

    def __init__(self, inner: logging._LogRecordFactory) -> None:  # type: ignore[name-defined]
        self.inner = inner

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        try:
            record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
            if isinstance(record.args, tuple):  # kept as arguments: formatters read them
                record.args = tuple(_redact_arg(arg) for arg in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: _redact_arg(v) for k, v in record.args.items()}
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        except Exception:  # never lose a log line to the redactor
            record.msg, record.args = "(log message withheld: it could not be redacted)", None
        return record


def install_log_redaction() -> None:
    """Redact every log record of this process (idempotent). For Fusion's own
    entry points (`fusion` CLI, `fusion serve`); a library embedding Fusion decides
    for its own process."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))

"""Why a model call failed, as a typed reason plus the provider's own words.

The reasons are part of the public output (`failed_models[].reason`,
`failure_reason`), so scripts can branch on them.
"""

from __future__ import annotations

import openai
from langgraph.errors import NodeTimeoutError

from fusion.core.errors import ConfigError
from fusion.core.redact import redact

_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "model_not_found",
    408: "timeout",
    429: "rate_limited",
}


def classify(error: BaseException) -> tuple[str, str]:
    """(reason, message) for an exception raised while calling a model; the message
    never holds a key (a provider may echo the request's, see `core.redact`)."""
    reason, message = _classify(error)
    return reason, redact(message)


def _classify(error: BaseException) -> tuple[str, str]:
    if isinstance(error, NodeTimeoutError | openai.APITimeoutError | TimeoutError):
        return "timeout", str(error) or "the call timed out"
    if isinstance(error, openai.APIStatusError):
        reason = _BY_STATUS.get(error.status_code)
        if reason is None:
            reason = "upstream_error" if error.status_code >= 500 else "bad_request"
        return reason, f"HTTP {error.status_code}: {_provider_message(error)}"
    if isinstance(error, openai.APIConnectionError):
        return "connection_error", str(error)
    if isinstance(error, ConfigError):
        return "config_error", str(error)
    return "error", f"{type(error).__name__}: {error}"


def _provider_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return error.message

"""A retried request resumes the run its first attempt left, instead of paying again.

SDKs send a request again when its response never came (a read timeout, a dropped
connection): OpenAI's does so twice by default, and each attempt used to start a new
run and pay for the whole panel again. A client that leaves cancels its run, whose
checkpoint keeps every finished call (`fusion.serve.cancel`); this process remembers
that run under the request's key, and a retry of the request resumes it.

A request with an `Idempotency-Key` header may resume one with the same key; without
one, only a retry that an SDK marks as such (`X-Stainless-Retry-Count` of 1 or more)
may. Either matches on its caller's `Authorization` and its body too, so another
caller, or another question under the same key, never gets someone else's run. Runs
are remembered in this process only (a retry sent to another replica starts a new
run), for `RETRY_WINDOW_S`.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers

__all__ = ["RETRY_WINDOW_S", "LeftRuns", "RequestKey", "request_key"]

RETRY_WINDOW_S = 600.0
MAX_REMEMBERED = 10_000
IDEMPOTENCY_HEADER = "idempotency-key"
SDK_RETRY_HEADER = "x-stainless-retry-count"


@dataclass(frozen=True)
class RequestKey:
    """What a request is known by here, and whether it may resume an earlier attempt."""

    key: str
    retry: bool


def request_key(headers: Headers, body: str) -> RequestKey:
    """The key of a `POST /v1/chat/completions` with `body` (its JSON, as parsed)."""
    given = headers.get(IDEMPOTENCY_HEADER, "").strip()
    digest = hashlib.sha256()
    for part in (given, headers.get("authorization", ""), body):  # the same caller, asking
        digest.update(part.encode())  # the same: another body under one key is a new run
        digest.update(b"\0")
    count = headers.get(SDK_RETRY_HEADER, "0").strip()
    retry = bool(given) or (count.isdigit() and int(count) > 0)
    return RequestKey(digest.hexdigest(), retry=retry)


@dataclass
class _Left:
    thread_id: str
    at: float


class LeftRuns:
    """Runs whose client left before the answer, by request key: newest kept, bounded."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, _Left] = OrderedDict()

    def remember(self, key: RequestKey, thread_id: str) -> None:
        self._runs[key.key] = _Left(thread_id, time.monotonic())
        self._runs.move_to_end(key.key)
        while len(self._runs) > MAX_REMEMBERED:
            self._runs.popitem(last=False)

    def take(self, key: RequestKey) -> str | None:
        """The run a retry of `key` resumes (forgotten here: one attempt resumes it)."""
        if not key.retry:
            return None
        left = self._runs.pop(key.key, None)
        if left is None or time.monotonic() - left.at > RETRY_WINDOW_S:
            return None
        return left.thread_id

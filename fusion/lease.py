"""One run, one runner: a run is leased while it runs.

Two processes that resume the same interrupted run would both pay for its missing
panelists and judge, and fork its history. So every runner (`fusion ask` and
`resume`, `fusion serve`, the web page, MCP, `fuse()`) first takes the run's lease:
a row in `fusion_run_leases`, in the checkpoint database itself (the same SQLite file,
or the same PostgreSQL database), written by the same SQL on both.

A row rather than a PostgreSQL advisory lock: a session lock is lost behind PgBouncer
in transaction mode (each statement may land on another server connection), and
SQLite has none. The holder renews the lease every third of its term
(`FUSION_LEASE_S`, 30 s by default); a holder that dies stops renewing, and its lease
expires. A holder on this machine whose process is gone (killed with SIGKILL, say)
is known dead at once, and its lease is taken over without waiting. Terms are in
wall-clock seconds, so replicas' clocks must agree (NTP) to well within a term.

A holder that could not renew for a whole term (its process was frozen, or the
database unreachable) may have been taken over: it cancels its run, which stops
before paying for anything more, rather than run alongside the new holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fusion.core.errors import ConfigError, RunBusy
from fusion.saver import Saver
from fusion.sqlite_saver import SqliteCheckpointer

log = logging.getLogger("fusion.lease")
TERM_ENV = "FUSION_LEASE_S"
DEFAULT_TERM_S = 30.0
TABLE = "fusion_run_leases"
COLUMNS = "thread_id, token, host, pid, purpose, acquired_at, expires_at"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (thread_id TEXT PRIMARY KEY, token TEXT NOT NULL, "
    "host TEXT NOT NULL, pid INTEGER NOT NULL, purpose TEXT NOT NULL, "
    "acquired_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL)"
)
TAKE = (
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (thread_id) DO UPDATE SET token = excluded.token, host = excluded.host, "
    "pid = excluded.pid, purpose = excluded.purpose, acquired_at = excluded.acquired_at, "
    f"expires_at = excluded.expires_at WHERE {TABLE}.expires_at < ? RETURNING token"
)
TAKE_OVER = (
    f"UPDATE {TABLE} SET token = ?, host = ?, pid = ?, purpose = ?, acquired_at = ?, "
    "expires_at = ? WHERE thread_id = ? AND token = ? RETURNING token"
)
RENEW = f"UPDATE {TABLE} SET expires_at = ? WHERE thread_id = ? AND token = ? RETURNING token"
RELEASE = f"DELETE FROM {TABLE} WHERE thread_id = ? AND token = ?"
HOLDER = (
    f"SELECT token, host, pid, purpose, acquired_at, expires_at FROM {TABLE} WHERE thread_id = ?"
)

__all__ = ["Holder", "RunLease", "holder_of", "runner_of", "take_lease", "term_s"]


@dataclass(frozen=True)
class Holder:
    """Who runs a run: a process on a host, doing what, since when, until when."""

    token: str
    host: str
    pid: int
    purpose: str
    acquired_at: float
    expires_at: float

    def __str__(self) -> str:
        since = datetime.fromtimestamp(self.acquired_at, UTC).strftime("%H:%M:%S UTC")
        return f"{self.purpose} (pid {self.pid} on {self.host}, since {since})"

    def died_here(self) -> bool:
        """Whether the holder was a process of this machine that is gone."""
        return self.host == socket.gethostname() and not _alive(self.pid)


class RunLease:
    """A held lease, renewed in the background until `release()`."""

    def __init__(self, saver: Saver, thread_id: str, token: str, term: float) -> None:
        self.saver = saver
        self.thread_id = thread_id
        self.token = token
        self.lost: Holder | None = None
        self._term = term
        self._on_lost: list[Callable[[], object]] = []
        self._stop = asyncio.Event()
        self._renewing = asyncio.ensure_future(self._renew())

    def on_lost(self, callback: Callable[[], object]) -> None:
        self._on_lost.append(callback)

    def lost_error(self) -> RunBusy:
        return RunBusy(
            f"run {self.thread_id} stopped: its lease was not renewed in time and "
            f"{self.lost} took it over; nothing already paid for is lost"
        )

    async def release(self) -> None:
        """Give the run up (again is harmless); it may be resumed at once."""
        if self._stop.is_set():
            return
        # Cancelling is the fast way out of a renewal in flight, but a cancel can be
        # lost while psycopg_pool hands over a connection (Python 3.11's wait_for,
        # psycopg#1345; `fusion.pool` raises it again, a caller's own pool may not):
        # the renewal then ends at its next look at `_stop`, after one statement,
        # instead of renewing for ever while this waits.
        self._stop.set()
        self._renewing.cancel()
        await asyncio.wait({self._renewing})  # a cancel of this task still goes through
        if not self._renewing.cancelled() and (error := self._renewing.exception()):
            log.warning("the lease renewal of run %s failed: %s", self.thread_id, error)
        try:
            await _execute(self.saver, RELEASE, (self.thread_id, self.token))
        except Exception:  # the lease expires by itself
            log.warning("could not release the lease of run %s", self.thread_id, exc_info=True)

    async def _renew(self) -> None:
        renewed = time.monotonic()
        while not await self._stopped_within(self._term / 3):
            try:
                rows = await _execute(
                    self.saver, RENEW, (time.time() + self._term, self.thread_id, self.token)
                )
            except Exception:
                log.warning("could not renew the lease of run %s", self.thread_id, exc_info=True)
                if time.monotonic() - renewed < self._term:
                    continue
                rows = []
            if rows:
                renewed = time.monotonic()
                continue
            if self._stop.is_set():  # released meanwhile: nothing was lost
                return
            self.lost = await holder_of(self.saver, self.thread_id) or _nobody()
            log.error("lost the lease of run %s to %s", self.thread_id, self.lost)
            for callback in self._on_lost:
                callback()
            return

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait up to `seconds` for `release()`; whether it came, or a cancel this
        task swallowed (it stays counted in `cancelling()`)."""
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            return True
        try:
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        except TimeoutError:
            return False
        return True


async def take_lease(saver: Any, thread_id: str, purpose: str) -> RunLease | None:
    """Lease `thread_id` for this process, for `purpose` ("fusion resume", ...).

    Raises `RunBusy`, naming the holder, when another live runner holds it. None when
    `saver` is neither Fusion's SQLite nor its PostgreSQL checkpointer (an in-memory
    saver is one process's own)."""
    if _kind(saver) is None:
        return None
    term = term_s()
    token = uuid.uuid4().hex
    host, pid = socket.gethostname(), os.getpid()
    now = time.time()
    row = (token, host, pid, purpose, now, now + term)
    if await _execute(saver, TAKE, (thread_id, *row, now)):
        return RunLease(saver, thread_id, token, term)
    holder = await holder_of(saver, thread_id)
    if holder is None or holder.died_here():
        gone = holder.token if holder else ""
        if await _execute(saver, TAKE_OVER, (*row, thread_id, gone)):
            return RunLease(saver, thread_id, token, term)
        if holder is None and await _execute(saver, TAKE, (thread_id, *row, now)):
            return RunLease(saver, thread_id, token, term)
        holder = await holder_of(saver, thread_id) or holder
    left = max(0, round((holder.expires_at - now) if holder else 0))
    raise RunBusy(
        f"run {thread_id} is already running: {holder or 'another runner'} holds it; "
        f"wait for it to finish (`fusion show {thread_id}`), or if that process is gone, "
        f"retry in {left} s when its lease expires"
    )


async def holder_of(saver: Saver, thread_id: str) -> Holder | None:
    """Who holds `thread_id`'s lease, if anyone (expired or not)."""
    if _kind(saver) is None:
        return None
    rows = await _execute(saver, HOLDER, (thread_id,))
    if not rows:
        return None
    token, host, pid, purpose, acquired_at, expires_at = rows[0]
    return Holder(
        str(token), str(host), int(pid), str(purpose), float(acquired_at), float(expires_at)
    )


async def runner_of(saver: Any, thread_id: str) -> Holder | None:
    """Who is running `thread_id` now: a holder whose lease is live, else None."""
    holder = await holder_of(saver, thread_id)
    if holder is None or holder.expires_at < time.time() or holder.died_here():
        return None
    return holder


def term_s() -> float:
    raw = os.environ.get(TERM_ENV, str(DEFAULT_TERM_S))
    try:
        term = float(raw)
    except ValueError:
        term = 0.0
    if not term >= 1:
        raise ConfigError(f"{TERM_ENV} must be a number of seconds >= 1, not {raw!r}")
    return term


def _nobody() -> Holder:
    return Holder("", "an unknown host", 0, "another runner", time.time(), time.time())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # a killed child not yet reaped is a zombie: dead
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@contextlib.asynccontextmanager
async def _locked(lock: asyncio.Lock, conn: Any) -> Any:
    async with lock:
        yield conn


_READY: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _kind(saver: Any) -> str | None:
    if isinstance(saver, SqliteCheckpointer):
        return "sqlite"
    if type(saver).__name__ == "AsyncPostgresSaver":  # (the postgres extra may be absent)
        return "postgres"
    return None


async def _execute(saver: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Run one statement of the lease SQL (the same text on both backends; `?`
    placeholders become psycopg's `%s`); its rows."""
    if not _READY.get(saver):
        await _run(saver, CREATE, ())
        _READY[saver] = True
    return await _run(saver, sql, params)


async def _run(saver: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if isinstance(saver, SqliteCheckpointer):
        return await saver.aexecute(sql, params)
    return await _run_postgres(saver, sql.replace("?", "%s"), params)


async def _run_postgres(saver: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    import psycopg
    from psycopg.rows import tuple_row
    from psycopg_pool import AsyncConnectionPool

    for attempt in range(5):
        try:
            if isinstance(saver.conn, AsyncConnectionPool):
                connection = saver.conn.connection()
            else:  # one connection (a saver made by the caller): the saver's lock guards it
                connection = _locked(saver.lock, saver.conn)
            async with connection as conn, conn.cursor(row_factory=tuple_row) as cursor:
                await cursor.execute(sql, params)
                if cursor.description is None:
                    return []
                return list(await cursor.fetchall())
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            # replicas creating the table at once on a fresh database: the loser retries
            if sql != CREATE or attempt == 4:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
    return []

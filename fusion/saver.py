"""One shared checkpointer per database and event loop: SQLite or PostgreSQL.

`open_checkpointer(target)` takes a SQLite file path or a `postgresql://` URL.

SQLite: concurrent `fuse()` calls on the same file used to open a connection each,
and SQLite answered the writers that lost the race with "database is locked" (47 of
600 runs at 100 at once). One saver per file and loop has no such race: its small
calls run at once on a connection that never waits, and anything that would wait
goes to its own thread (`fusion.sqlite_saver`). Commits use
`synchronous=NORMAL` on SQLite's write-ahead log: a crash or `kill -9` of the process
loses nothing committed (what `fusion resume` relies on); only an operating-system
crash or power cut can lose the last commits.

PostgreSQL: LangGraph's `AsyncPostgresSaver` over a connection pool (replicas and
concurrent runs need more than `from_conn_string`'s single connection), with
`autocommit=True` (otherwise checkpoints sit in an open transaction that other
processes never see and a crash loses; `setup()`'s `CREATE INDEX CONCURRENTLY` also
needs it on a fresh database) and `prepare_threshold=None` (no server-side prepared
statements, which PgBouncer in transaction mode mixes up between clients). Its calls
go side by side, bounded by the pool's size less `LEASE_CONNECTIONS`, instead of one
at a time behind the saver's one lock.

Either lives while any run of its loop uses it.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from langgraph.checkpoint.base import BaseCheckpointSaver

from fusion.core.errors import ConfigError
from fusion.sqlite_saver import open_sqlite

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POOL_MAX_ENV = "FUSION_DB_POOL_MAX"
LEASE_CONNECTIONS = 2
"""Pooled connections that checkpoint calls leave to `fusion.lease` (pool size allowing)."""
MISSING_EXTRA = (
    'a postgresql:// database needs the postgres extra: pip install "fusion-panel[postgres]"'
)

Saver = BaseCheckpointSaver[str]


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def describe(target: str | Path) -> str:
    """The database as shown to users: a URL without its password."""
    if not is_postgres(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class _Open:
    saver: Saver
    closer: AsyncExitStack
    users: int = 0


@dataclass
class _LoopSavers:
    by_target: dict[str, _Open] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_LOOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSavers] = (
    weakref.WeakKeyDictionary()
)
_TARGETS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def open_checkpointer(target: str | Path) -> AsyncIterator[Saver]:
    """A checkpointer on `target` (a SQLite path or a `postgresql://` URL), shared
    with the loop's other runs on it. A SQLite file's folder is made on first use (in
    a thread: LangGraph server refuses blocking file calls on its event loop)."""
    if is_postgres(target):
        key = str(target)
    else:
        try:
            key = str(await asyncio.to_thread(_with_folder, Path(target)))
        except OSError as exc:
            raise _unopenable(target, exc) from exc
    savers = _LOOPS.setdefault(asyncio.get_running_loop(), _LoopSavers())
    async with savers.lock:
        opened = savers.by_target.get(key)
        if opened is None:
            opened = await (_open_postgres(key) if is_postgres(key) else _open_sqlite(Path(key)))
            _TARGETS[opened.saver] = describe(key)
            savers.by_target[key] = opened
        opened.users += 1
    try:
        yield opened.saver
    finally:
        opened.users -= 1
        if opened.users == 0 and savers.by_target.get(key) is opened:
            del savers.by_target[key]
            await opened.closer.aclose()


def saver_target(saver: Any) -> str:
    """Where `saver` keeps its checkpoints, for messages (no password)."""
    return _TARGETS.get(saver) or str(
        getattr(getattr(saver, "conn", None), "_path", "the checkpoint database")
    )


async def _open_sqlite(path: Path) -> _Open:
    import sqlite3

    closer = AsyncExitStack()
    try:
        saver = await open_sqlite(path)
    except (sqlite3.Error, OSError) as exc:  # a folder, a file of another kind, no access
        raise _unopenable(path, exc) from exc
    closer.push_async_callback(saver.aclose)
    return _Open(saver, closer)


async def _open_postgres(url: str) -> _Open:
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver  # noqa: F401 (is the extra installed?)
        from psycopg.rows import dict_row

        from fusion.pool import CancelSafePool
    except ImportError as exc:
        raise ConfigError(MISSING_EXTRA) from exc
    closer = AsyncExitStack()
    pool = CancelSafePool(
        url,
        min_size=1,
        max_size=_pool_max(),
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
    )
    try:
        await pool.open(wait=True, timeout=15)
    except Exception as exc:
        await pool.close()
        raise ConfigError(
            f"cannot connect to {describe(url)}: {_first_line(exc)} "
            "(check the --db / FUSION_DB URL and that the server is up)"
        ) from exc
    closer.push_async_callback(pool.close)
    try:
        saver = await postgres_saver(pool)
    except BaseException:
        await closer.aclose()
        raise
    return _Open(saver, closer)


async def postgres_saver(pool: Any) -> Saver:
    """LangGraph's `AsyncPostgresSaver` on an open pool (a `fusion.pool.CancelSafePool`
    in Fusion's own use), its tables made or migrated.

    The saver holds one instance lock around every call: needed on one shared
    connection, but over a pool it lets a process's runs use one connection at a time,
    so a slow write stalls every other run (langgraph#7259, fix pending as #7269). Each
    call takes its own pooled connection: bound them by the pool, less the connections
    kept for the leases, whose renewals must not queue behind checkpoint writes stuck
    in the database."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    saver = AsyncPostgresSaver(pool)
    slots = max(1, pool.max_size - LEASE_CONNECTIONS)
    saver.lock = asyncio.Semaphore(slots)  # type: ignore[assignment]
    await _setup(saver)
    return saver


async def _setup(saver: Any) -> None:
    """`setup()`, retried: replicas starting together on a fresh database race to
    create the same tables and migration rows, and the losers' statements fail."""
    import psycopg

    for attempt in range(5):
        try:
            await saver.setup()
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            if attempt == 4:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))


def _pool_max() -> int:
    raw = os.environ.get(POOL_MAX_ENV, "10")
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ConfigError(f"{POOL_MAX_ENV} must be a whole number of connections >= 1, not {raw!r}")
    return size


def _unopenable(path: str | Path, exc: BaseException) -> ConfigError:
    return ConfigError(
        f"cannot open the run database {path}: {_first_line(exc)} (give --db / FUSION_DB "
        "a SQLite file path, new or made by Fusion, or a postgresql:// URL)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _with_folder(path: Path) -> Path:
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

"""One shared SQLite checkpointer per database file and event loop.

Concurrent `fuse()` calls on the same file used to open a connection each, and
SQLite answered the writers that lost the race with "database is locked" (47 of 600
runs at 100 at once). One connection, whose saver serialises its own writes, has no
such race. It lives while any run uses it.

Commits use `synchronous=NORMAL` on SQLite's write-ahead log: a crash or `kill -9`
of the process loses nothing committed (what `fusion resume` relies on); only an
operating-system crash or power cut can lose the last commits. It saves a disk
flush on every checkpoint.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


@dataclass
class _Open:
    saver: AsyncSqliteSaver
    closer: AsyncExitStack
    users: int = 0


@dataclass
class _LoopSavers:
    by_path: dict[Path, _Open] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_LOOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSavers] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def open_checkpointer(path: str | Path) -> AsyncIterator[AsyncSqliteSaver]:
    """An `AsyncSqliteSaver` on `path`, shared with the loop's other runs on that file;
    its folder is made on first use (in a thread: LangGraph server refuses blocking
    file calls on its event loop)."""
    ready = await asyncio.to_thread(_with_folder, Path(path))
    savers = _LOOPS.setdefault(asyncio.get_running_loop(), _LoopSavers())
    async with savers.lock:
        opened = savers.by_path.get(ready)
        if opened is None:
            opened = await _open(ready)
            savers.by_path[ready] = opened
        opened.users += 1
    try:
        yield opened.saver
    finally:
        opened.users -= 1
        if opened.users == 0 and savers.by_path.get(ready) is opened:
            del savers.by_path[ready]
            await opened.closer.aclose()


async def _open(path: Path) -> _Open:
    closer = AsyncExitStack()
    saver = await closer.enter_async_context(AsyncSqliteSaver.from_conn_string(str(path)))
    await saver.setup()
    await saver.conn.execute("PRAGMA synchronous=NORMAL")
    return _Open(saver, closer)


def _with_folder(path: Path) -> Path:
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

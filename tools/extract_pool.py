"""Extraction under hard limits, in worker processes that are killed when they overrun.

`extract_text()` hands a download to an idle worker (`extract_worker.py`), waits for
its reply on the event loop (the pipes are watched with `add_reader`, so no thread
is held and `getaddrinfo`, which uses the default executor, never waits behind a
parse), and kills the worker if the wall-clock deadline passes or the caller is
cancelled. The kernel enforces the CPU and memory limits inside the worker. A killed
worker is not replaced until the next job needs one, so nothing keeps running after
the tool has returned.

The pool is per process, not per event loop (workers are plain `subprocess.Popen`
children; only the waiting happens on a loop), and small: at most `POOL_SIZE` jobs run
at once, the others wait their turn inside their fetch's own time bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER = str(Path(__file__).with_name("extract_worker.py"))
POOL_SIZE = max(2, min(4, os.cpu_count() or 2))
IDLE_RETIRE_S = 60.0  # an idle worker older than this is replaced (the worker quits at 600 s)
MAX_JOBS = 200  # then a fresh worker: no slow growth of a long-lived parser's heap
START_TIMEOUT_S = 60.0  # starting a worker on a loaded machine; not counted in a job's time
MAX_REPLY = 64 * 1024 * 1024
# What a worker inherits: enough to run Python, never an API key.
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "PYTHONHOME", "TMPDIR")
_LEN = struct.Struct(">I")


class ExtractFailed(Exception):
    """The worker could not turn the body into text; worded for the model."""


@dataclass(frozen=True)
class Job:
    """One body to read, and its bounds."""

    body: bytes
    kind: str
    charset: str | None
    url: str
    enough_chars: int  # lets slow formats stop early
    max_chars: int  # the most text sent back
    max_pages: int  # PDF pages read at most
    cpu_s: float
    wall_s: float


@dataclass(frozen=True)
class Text:
    title: str
    text: str
    chars: int  # the length of the whole text, of which `text` may be the start
    complete: bool


class _WorkerDied(Exception):
    pass


def _worker_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _ENV_KEPT if name in os.environ}


async def _ready(fd: int, *, write: bool) -> None:
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not waiter.done():
            waiter.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await waiter
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


class _Worker:
    def __init__(self, memory: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, WORKER, str(memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_worker_env(),
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self.used_at = time.monotonic()
        self.jobs = 0
        self.started = False

    async def start(self) -> None:
        async with asyncio.timeout(START_TIMEOUT_S):
            hello = await self._recv()
        if not hello.get("ready"):
            raise _WorkerDied
        self.started = True

    async def ask(self, header: dict[str, Any], body: bytes) -> dict[str, Any]:
        raw = json.dumps(header).encode()
        await self._send(_LEN.pack(len(raw)) + raw)
        await self._send(body)
        return await self._recv()

    async def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._in, view)
            except BlockingIOError:
                await _ready(self._in, write=True)
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise _WorkerDied from None
            view = view[written:]

    async def _recv(self) -> dict[str, Any]:
        size = _LEN.unpack(await self._read(_LEN.size))[0]
        if size > MAX_REPLY:
            raise _WorkerDied
        reply = json.loads(await self._read(size))
        if not isinstance(reply, dict):
            raise _WorkerDied
        return reply

    async def _read(self, size: int) -> bytes:
        buf = bytearray()
        while len(buf) < size:
            try:
                piece = os.read(self._out, size - len(buf))
            except BlockingIOError:
                await _ready(self._out, write=False)
                continue
            if not piece:
                raise _WorkerDied
            buf += piece
        return bytes(buf)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        _reap_later(self.proc)


_DYING: list[subprocess.Popen[bytes]] = []


def _reap_later(proc: subprocess.Popen[bytes]) -> None:
    """Collect killed workers without waiting for them on the event loop."""
    _DYING.append(proc)
    _DYING[:] = [p for p in _DYING if p.poll() is None]


class ExtractPool:
    """At most `size` workers, each with `memory` bytes of heap above its baseline."""

    def __init__(self, size: int, memory: int) -> None:
        self.size = size
        self.memory = memory
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[_Worker | None]]]
        self._waiters = deque()

    async def run(self, job: Job) -> Text:
        worker = await self._acquire()
        keep = False
        try:
            if worker is None:
                # Popen reads the exec status pipe: blocking, so off the event loop
                worker = await asyncio.to_thread(_Worker, self.memory)
            if not worker.started:
                await worker.start()
            reply = await self._ask(worker, job)
            keep = reply.get("error") != "memory"
        except _WorkerDied:
            raise ExtractFailed(await _death(worker, job)) from None
        finally:
            if worker is not None and keep and worker.jobs + 1 < MAX_JOBS:
                worker.jobs += 1
                worker.used_at = time.monotonic()
                self._release(worker)
            else:
                if worker is not None:
                    worker.kill()
                self._release(None)
        if not reply.get("ok"):
            error = str(reply.get("error", "the page could not be read"))
            if error == "memory":
                error = f"reading the page needed more than {self.memory // 2**20} MB; gave up"
            raise ExtractFailed(error)
        return Text(
            title=str(reply.get("title", "")),
            text=str(reply.get("text", "")),
            chars=int(reply.get("chars", 0)),
            complete=bool(reply.get("complete", True)),
        )

    async def _ask(self, worker: _Worker, job: Job) -> dict[str, Any]:
        header = {
            "kind": job.kind,
            "charset": job.charset,
            "url": job.url,
            "enough_chars": job.enough_chars,
            "max_chars": job.max_chars,
            "max_pages": job.max_pages,
            "cpu_s": job.cpu_s,
            "size": len(job.body),
        }
        try:
            async with asyncio.timeout(job.wall_s):
                return await worker.ask(header, job.body)
        except TimeoutError:
            raise ExtractFailed(
                f"reading the page took longer than {job.wall_s:g} s; gave up (try another source)"
            ) from None

    async def _acquire(self) -> _Worker | None:
        """An idle worker, or None (start one), once fewer than `size` jobs run."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._busy < self.size:
                self._busy += 1
                return self._fresh_idle()
            waiter: asyncio.Future[_Worker | None] = loop.create_future()
            self._waiters.append((loop, waiter))
        try:
            return await waiter
        except asyncio.CancelledError:
            with self._lock:
                if (loop, waiter) in self._waiters:
                    self._waiters.remove((loop, waiter))
                    raise
            # the slot was handed over as we were cancelled: pass it on
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise

    def _fresh_idle(self) -> _Worker | None:
        now = time.monotonic()
        while self._idle:
            worker = self._idle.pop()
            if now - worker.used_at < IDLE_RETIRE_S and worker.proc.poll() is None:
                return worker
            worker.kill()
        return None

    def _release(self, worker: _Worker | None) -> None:
        """Give the slot (and the worker, if still good) to the next waiter."""
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                if waiter.cancelled():
                    continue
                if worker is None:
                    worker = self._fresh_idle()
                loop.call_soon_threadsafe(self._hand, waiter, worker)
                return
            self._busy -= 1
            if worker is not None:
                self._idle.append(worker)

    def _hand(self, waiter: asyncio.Future[_Worker | None], worker: _Worker | None) -> None:
        if waiter.done():  # cancelled in between: the slot goes on
            self._release(worker)
        else:
            waiter.set_result(worker)

    def shutdown(self) -> None:
        """Stop the idle workers (busy ones stop when their jobs end)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


async def _death(worker: _Worker | None, job: Job) -> str:
    """Why a worker stopped answering, from how it ended."""
    code = None
    for _ in range(50):  # it closed its pipe, so it is exiting: give it 0.5 s
        code = worker.proc.poll() if worker is not None else None
        if code is not None or worker is None:
            break
        await asyncio.sleep(0.01)
    if code == -signal.SIGXCPU:
        return (
            f"reading the page needed more than {job.cpu_s:g} CPU-seconds; gave up "
            "(the page may be built to be costly to read; try another source)"
        )
    if code == -signal.SIGKILL:
        return "reading the page needed too much memory; gave up (try another source)"
    return f"the page reader stopped unexpectedly (exit {code}); try another source"


_POOLS: dict[int, ExtractPool] = {}
_POOLS_LOCK = threading.Lock()


def pool(memory: int) -> ExtractPool:
    """The process's pool for workers with this memory budget."""
    with _POOLS_LOCK:
        found = _POOLS.get(memory)
        if found is None:
            found = _POOLS[memory] = ExtractPool(POOL_SIZE, memory)
        return found


def shutdown() -> None:
    """Stop every idle worker of every pool."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
    for each in pools:
        each.shutdown()

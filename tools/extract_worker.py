"""The extraction worker: a separate process that turns one download into text at a time.

Run as `python path/to/extract_worker.py MEMORY_BUDGET_BYTES`; `extract_pool.py` starts, feeds and
kills it. It exists because parsing is where a hostile page hurts: a few kilobytes of
gzip can inflate to a million tiny HTML elements (tens of CPU-seconds, hundreds of MB
in lxml), and a small PDF can hold hundreds of pages of empty text operations. A
thread can't be stopped; a process can, and the kernel enforces its limits:

- memory: `RLIMIT_AS` is set to what the worker uses after its imports plus a budget,
  so a parse that grows past it gets `MemoryError` (and the worker is retired);
- CPU: before each job the soft `RLIMIT_CPU` is set to the CPU used so far plus the
  job's budget; a job that spends it is killed by the kernel (`SIGXCPU`);
- files: no core dumps, no file writes, few descriptors;
- no secrets: the pool starts it with an environment stripped of API keys.

The parent also kills it when the job's wall-clock deadline passes.

Wire format (stdin/stdout, never pickle): a request is a 4-byte big-endian length, a
JSON header of that length, then `header["size"]` bytes of body. A reply is a 4-byte
length and a JSON object: `{"ready": true}` once at start, then per job
`{"ok": true, "title", "text", "chars", "complete"}` or `{"ok": false, "error"}`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import resource
import select
import struct
import sys
from types import ModuleType
from typing import Any

IDLE_EXIT_S = 600.0  # the pool retires idle workers sooner; this is the safety net
_LEN = struct.Struct(">I")


def _read_exact(fd: int, size: int) -> bytes | None:
    """`size` bytes from `fd`, or None at end of input (the parent went away)."""
    parts: list[bytes] = []
    left = size
    while left:
        piece = os.read(fd, min(left, 1 << 20))
        if not piece:
            return None
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _vm_size() -> int:
    """This process's virtual memory size in bytes."""
    with open("/proc/self/statm", "rb") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def set_base_limits(memory_budget: int) -> None:
    """Limits for the worker's whole life, set once its imports are done."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    try:
        base = _vm_size()
    except OSError:  # no /proc (macOS): a flat cap
        base = 256 * 1024 * 1024
    limit = base + memory_budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _set_cpu_budget(seconds: float) -> None:
    """The kernel ends this process (SIGXCPU) once this job has used `seconds` of CPU."""
    soft = math.ceil(_cpu_used() + seconds)
    _hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if _hard != resource.RLIM_INFINITY:
        soft = min(soft, _hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, _hard))


def load_extract() -> ModuleType:
    """`extract.py` beside this file, loaded on its own: importing it as
    `fusion.tools.extract` would run `fusion.tools`' package and bring in LangChain,
    httpx and the providers' code, none of which a parser needs."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # run as a script: its folder must not shadow other modules
    path = os.path.join(here, "extract.py")
    spec = importlib.util.spec_from_file_location("_fusion_extract", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _job(extract: ModuleType, header: dict[str, Any], body: bytes) -> dict[str, Any]:
    try:
        got = extract.extract(
            body,
            str(header["kind"]),
            header.get("charset"),
            url=str(header.get("url", "")),
            enough_chars=int(header["enough_chars"]),
            max_pages=int(header["max_pages"]),
        )
    except extract.ExtractError as exc:
        return {"ok": False, "error": str(exc)}
    cap = int(header["max_chars"])
    return {
        "ok": True,
        "title": got.title[:1000],
        "text": got.text[:cap],
        "chars": len(got.text),
        "complete": got.complete,
    }


def serve(extract: ModuleType, fd_in: int, fd_out: int) -> None:
    """Answer jobs until the parent closes the pipe or the worker sits idle too long."""
    while True:
        ready, _, _ = select.select([fd_in], [], [], IDLE_EXIT_S)
        if not ready:
            return
        size = _read_exact(fd_in, _LEN.size)
        if size is None:
            return
        raw = _read_exact(fd_in, _LEN.unpack(size)[0])
        header = json.loads(raw) if raw is not None else None
        body = _read_exact(fd_in, int(header["size"])) if header is not None else None
        if header is None or body is None:
            return
        _set_cpu_budget(float(header["cpu_s"]))
        retire = False
        try:
            reply = _job(extract, header, body)
        except MemoryError:
            reply = {"ok": False, "error": "memory"}
            retire = True  # the heap may be in a poor state: let the pool start a new one
        except Exception as exc:  # a parser bug on a hostile page: report, keep serving
            reply = {"ok": False, "error": f"the page could not be read ({type(exc).__name__})"}
        del body
        out = json.dumps(reply).encode()
        _write_all(fd_out, _LEN.pack(len(out)) + out)
        if retire:
            return


def main() -> None:
    # The reply channel is a private copy of stdout; anything a library prints goes
    # to stderr instead of corrupting the replies.
    fd_out = os.dup(1)
    os.dup2(2, 1)
    logging.disable(logging.CRITICAL)
    extract = load_extract()
    import pypdf  # noqa: F401  (imported before the memory cap, not under it)
    import trafilatura  # noqa: F401

    # one small page first, so what trafilatura loads lazily is loaded outside the cap
    extract.extract(b"<html><body><p>warm-up</p></body></html>", "html", "utf-8", enough_chars=99)
    set_base_limits(int(sys.argv[1]) if len(sys.argv) > 1 else 192 * 1024 * 1024)
    hello = json.dumps({"ready": True}).encode()
    _write_all(fd_out, _LEN.pack(len(hello)) + hello)
    serve(extract, 0, fd_out)


if __name__ == "__main__":
    main()

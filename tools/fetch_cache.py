"""One download per URL per run: panelists researching the same question often open
the same pages, often at the same moment.

The cache is keyed by the run, so a page is never served stale into a later run, and
nothing about one user's run leaks into another's.

Which key identifies "the run", as seen from a tool inside a panelist subgraph (found
by experiment with LangGraph 1.2: a parent graph that `Send`s to two subgraph
instances whose ToolNode calls a tool):

- `config["run_id"]` and `ToolRuntime.execution_info.run_id` are None inside nested
  tasks (the root's run id is consumed by its callback manager), and the metadata
  holds no root run id.
- `checkpoint_ns` starts with `panelist:<task id>`, different for every panelist.
- `thread_id` is the same for every run on a thread (and absent without one).
- The `RunControl` that LangGraph creates for each root invocation is inherited by
  every subgraph (`control or parent_runtime.control or RunControl()`), so it is one
  object per run, shared by all panelists, new for the next run. It is the public
  `control` field of the run's `Runtime`, which `langgraph.runtime.get_runtime()`
  returns from inside any node or tool. This is the key used;
  `tests/test_web_cache.py` checks in a real graph that it is one object per run,
  so a LangGraph release that changes this fails there, not silently in production.
- Outside a graph (a tool called directly) there is no runtime: no sharing, every
  call downloads.

Bounded: the last `max_runs` runs, `max_entries` pages each. Failures are not kept
(the next call tries again); only in-flight downloads are shared, so concurrent
callers await one download.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from langgraph.runtime import get_runtime

T = TypeVar("T")


def run_key() -> Hashable | None:
    """What identifies the run the calling tool belongs to (see the module docstring);
    None outside a graph run."""
    try:
        runtime = get_runtime()
    except RuntimeError:  # not inside any runnable: a plain function call
        return None
    control: Hashable | None = getattr(runtime, "control", None)
    return control  # hashed by identity; the cache holds it, so it is never reused


@dataclass(frozen=True)
class _Done(Generic[T]):
    value: T


_Entry = asyncio.Task[T] | _Done[T]


class RunCache(Generic[T]):
    """Per-run memo with in-flight de-duplication."""

    def __init__(self, *, max_runs: int = 8, max_entries: int = 64) -> None:
        self.max_runs = max_runs
        self.max_entries = max_entries
        self._runs: OrderedDict[Hashable, OrderedDict[Hashable, _Entry[T]]] = OrderedDict()

    async def get(self, run: Hashable | None, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """`load()`'s result, loaded once per (run, key) however many callers ask."""
        if run is None:
            return await load()
        entries = self._entries(run)
        entry = entries.get(key)
        if isinstance(entry, _Done):
            entries.move_to_end(key)
            return entry.value
        if entry is None:
            # Its own task, so a caller cancelled mid-download (a panelist past its
            # deadline) does not cancel the download the other callers wait on.
            entry = asyncio.ensure_future(load())
            entries[key] = entry
            entry.add_done_callback(functools.partial(self._settle, entries, key))
            self._trim(entries)
        return await asyncio.shield(entry)

    def clear(self) -> None:
        self._runs.clear()

    def _entries(self, run: Hashable) -> OrderedDict[Hashable, _Entry[T]]:
        entries = self._runs.get(run)
        if entries is None:
            entries = self._runs[run] = OrderedDict()
            while len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run)
        return entries

    def _trim(self, entries: OrderedDict[Hashable, _Entry[T]]) -> None:
        done = [k for k, v in entries.items() if isinstance(v, _Done)]
        for key in done[: max(len(entries) - self.max_entries, 0)]:
            del entries[key]

    @staticmethod
    def _settle(
        entries: OrderedDict[Hashable, _Entry[T]], key: Hashable, task: asyncio.Task[T]
    ) -> None:
        if entries.get(key) is not task:
            return
        if task.cancelled() or task.exception() is not None:
            del entries[key]
        else:
            entries[key] = _Done(task.result())

"""Runs started from the page, running in the server, followed by any number of pages.

A run is an asyncio task of the server, not of the request that started it: closing
the tab neither cancels nor loses it, and a page opened later (or reloaded) replays
its progress so far, then follows it. It goes through `fusion.api.stream_run`, like
the CLI and the OpenAI endpoint, and is checkpointed the same way; when the server
stops, running tasks are cancelled and `resume` finishes them from their checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fusion.core.events import StreamedAnswer
from fusion.result import FusionResult

log = logging.getLogger("fusion.web")
KEEP_FINISHED = 64
"""Finished runs kept in memory for pages still following them; older ones are read
from the checkpointer like any other run."""
ANSWER_EVERY_S = 0.05
"""A follower sends the answer at most this often, so tokens coalesce under load."""


@dataclass
class LiveRun:
    thread_id: str
    panel: list[str]
    judge: str
    question: str
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    status: str = "running"
    error: str = ""
    _answer: StreamedAnswer = field(default_factory=StreamedAnswer)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def on(self, kind: str, data: Any) -> None:
        if kind == "custom":
            self._answer.on_event(data.get("event"))
            self.events.append(data)
        elif kind == "answer":
            self._answer.add(data)
        elif kind == "values":
            self._sources(data)
        self._notify()

    def _sources(self, values: dict[str, Any]) -> None:
        """Each finished draft's sources, once, as an event of their own."""
        told = {e["model"] for e in self.events if e.get("event") == "sources"}
        for response in values.get("responses") or []:
            if response.get("model") not in told and response.get("sources"):
                sources = [
                    {"url": s.get("url", ""), "title": s.get("title", "")}
                    for s in response["sources"]
                ]
                self.events.append(
                    {"event": "sources", "model": response["model"], "sources": sources}
                )

    @property
    def answer(self) -> str:
        """The answer streamed so far: a superseded one stays until new text replaces it."""
        return self._answer.text

    def finish(self, status: str, error: str = "") -> None:
        self.done, self.status, self.error = True, status, error
        self._notify()

    async def follow(self) -> AsyncIterator[tuple[str, Any]]:
        """("progress", event) for every event so far and to come, ("answer", text)
        whenever the answer grew (coalesced), then ("done", status)."""
        sent, answered = 0, ""
        while True:
            changed = self._changed
            for seq, event in enumerate(self.events[sent:], start=sent):
                yield "progress", {**event, "seq": seq}
            sent = len(self.events)
            if self.answer != answered:
                answered = self.answer
                yield "answer", answered
            if self.done:
                yield "done", {"status": self.status, "error": self.error}
                return
            await changed.wait()
            await asyncio.sleep(ANSWER_EVERY_S)


class LiveRuns:
    """The server's running (and recently finished) page runs, by thread ID."""

    def __init__(self) -> None:
        self._runs: dict[str, LiveRun] = {}

    def get(self, thread_id: str) -> LiveRun | None:
        return self._runs.get(thread_id)

    def running(self) -> list[LiveRun]:
        return [r for r in self._runs.values() if not r.done]

    def start(self, run: LiveRun, events: AsyncIterator[tuple[str, Any]]) -> LiveRun:
        self._prune()
        self._runs[run.thread_id] = run
        run._task = asyncio.ensure_future(self._pump(run, events))
        return run

    async def _pump(self, run: LiveRun, events: AsyncIterator[tuple[str, Any]]) -> None:
        final: dict[str, Any] = {}
        try:
            async for kind, data in events:
                if kind == "values":
                    final = data
                run.on(kind, data)
        except asyncio.CancelledError:
            run.finish("interrupted", "the server stopped; resume the run to finish it")
            raise
        except Exception as exc:
            log.exception("run %s failed", run.thread_id)
            run.finish("failed", f"{type(exc).__name__}: {exc}")
            return
        result = FusionResult.from_state(final, run.thread_id)
        run.finish(result.status, result.failure_reason or "")

    def _prune(self) -> None:
        finished = [t for t, r in self._runs.items() if r.done]
        for thread_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._runs[thread_id]

    async def close(self) -> None:
        tasks = [r._task for r in self._runs.values() if r._task and not r._task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

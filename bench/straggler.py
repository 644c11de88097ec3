"""3. Straggler: one panelist at 20 s, two at 1 s, `deadline_s=2, quorum=2`. The run
goes on without the straggler (status `degraded`): wall / (deadline + judge 0.3 s),
target at most 1.2; against waiting for all (no deadline: 20 s + judge), timed once,
beside the deadline runs, since it is 20 s long."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from bench.harness import (
    Latencies,
    Options,
    Section,
    fused,
    measured_section,
    median,
    ratio,
    servers,
)
from bench.scripted import model_id

TITLE = "3. Straggler: one panelist at 20 s, two at 1 s; deadline 2 s, quorum 2"


async def _measure(options: Options, section: Section) -> None:
    # Below x0.2 the 2 s deadline would be shorter than a run's own overhead, and the
    # fast panelists would be cut too: the smoke test's tiny runs stop at x0.2 here.
    s = max(options.scale, 0.2)
    lat = Latencies(s)
    panel = [
        model_id("draft", 20 * s),
        model_id("draft", 1 * s, "a"),
        model_id("draft", 1 * s, "b"),
    ]
    judge, deadline = lat.judge_model(), 2 * s

    def cut_run() -> Awaitable[float]:
        return fused(panel, judge, web=False, deadline_s=deadline, quorum=2, expect="degraded")

    with servers(lat, child=True) as running:
        for _ in range(options.warmup):
            await cut_run()
        # The wait-for-all run spends 20 s waiting on its straggler, so it runs beside
        # the deadline runs: it starts (warm) with an untimed deadline run, which also
        # covers its two drafts at 1 s, and ends after the timed ones (up to 6 of them),
        # so its own work never overlaps a timed run. Its own database, so the two never
        # wait on each other's SQLite lock.
        own_db = str(running.home / "wait-all.sqlite")
        wait_all = asyncio.create_task(fused(panel, judge, web=False, db=own_db))
        await cut_run()
        times = {"deadline": [await cut_run() for _ in range(max(options.runs, 1))]}
        all_wall = await wait_all
    cut = median(times["deadline"])
    section.add(
        "deadline run: wall / (deadline + judge)",
        ratio(cut / (deadline + lat.judge)),
        "<= 1.2",
        "straggler cut as timeout, judge on 2 drafts",
    )
    section.add(
        "wait for all: wall / (straggler + judge)",
        ratio(all_wall / (20 * s + lat.judge)),
        "",
        "one run",
    )
    section.add("wait for all / deadline run", f"{all_wall / cut:.1f}x", "", "time saved")
    section.data.update(
        deadline=cut / (deadline + lat.judge),
        wait_all=all_wall / (20 * s + lat.judge),
        speedup=all_wall / cut,
        times=times,
        wait_all_s=all_wall,
    )


def run(options: Options) -> Section:
    return measured_section(TITLE, _measure, options, scale=max(options.scale, 0.2))

"""1. Overhead: a panel of 3 (0.5 / 0.8 / 1.0 s) and a judge (0.3 s), wall time over
the critical path, without tools and with one search + fetch round per panelist,
against the floor of a bare `asyncio.gather` of the same HTTP calls. Fusion runs with
its default SQLite checkpointer (`FUSION_DB`, a fresh file). Target: at most 1.05."""

from __future__ import annotations

from bench.floor import Floor
from bench.harness import (
    Latencies,
    Options,
    Section,
    fused,
    interleaved,
    measured_section,
    median,
    ms,
    ratio,
    servers,
)

TITLE = "1. Overhead: wall time / critical path (SQLite checkpointer on)"


async def _measure(options: Options, section: Section) -> None:
    lat = Latencies(options.scale)
    judge = lat.judge_model()
    with servers(lat, child=True) as running:
        floor = Floor(running, lat)
        try:
            times = await interleaved(
                options,
                {
                    "fusion": lambda: fused(lat.panel_models(), judge, web=False),
                    "floor": lambda: floor.run(tools=False),
                    "fusion_tools": lambda: fused(lat.panel_models(tools=True), judge),
                    "floor_tools": lambda: floor.run(tools=True),
                },
            )
        finally:
            await floor.close()
    for tools, suffix in ((False, ""), (True, "_tools")):
        critical = lat.critical_path(tools)
        fusion, bare = median(times["fusion" + suffix]), median(times["floor" + suffix])
        label = "one search + fetch round" if tools else "no tools"
        section.add(
            f"fusion, {label}",
            ratio(fusion / critical),
            "<= 1.05",
            f"critical path {ms(critical)}; {ms(fusion - bare)} above the floor",
        )
        section.add(f"gather floor, {label}", ratio(bare / critical), "", "same HTTP calls, bare")
        section.data[f"fusion{suffix}"] = fusion / critical
        section.data[f"floor{suffix}"] = bare / critical
    section.data["times"] = times


def run(options: Options) -> Section:
    return measured_section(TITLE, _measure, options)

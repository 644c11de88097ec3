"""2. Checkpoint cost: the overhead run (no tools) with checkpointing off, in memory
(`InMemorySaver`) and in SQLite (the default `fuse()` path: a fresh `FUSION_DB`),
each as wall time / critical path (1.3 s)."""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver

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

TITLE = "2. Checkpoint cost: wall time / critical path, no tools"


async def _measure(options: Options, section: Section) -> None:
    lat = Latencies(options.scale)
    panel, judge = lat.panel_models(), lat.judge_model()
    memory = InMemorySaver()
    with servers(lat, child=True):
        times = await interleaved(
            options,
            {
                "off": lambda: fused(panel, judge, web=False, checkpointer=False),
                "memory": lambda: fused(panel, judge, web=False, checkpointer=memory),
                "sqlite": lambda: fused(panel, judge, web=False),
            },
        )
    critical = lat.critical_path()
    off = median(times["off"])
    for name, label in (("off", "off"), ("memory", "in memory"), ("sqlite", "SQLite (default)")):
        value = median(times[name])
        note = "" if name == "off" else f"+{ms(value - off)} over off"
        section.add(f"checkpointer {label}", ratio(value / critical), "", note)
        section.data[name] = value / critical
    section.data["times"] = times


def run(options: Options) -> Section:
    return measured_section(TITLE, _measure, options)

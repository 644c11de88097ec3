"""5. Time to the first judge token after the last draft, streaming.

From the moment the scripted server sends the last panelist's reply to the moment
the first chunk of the judge's answer comes out of `fusion.api.stream_run` (SQLite
checkpointer, as `fuse()` runs). The judge's answer call is scripted to wait 0.15 s
before its first byte, so that is the floor: the ratio is TTFT / 0.15 s. Servers run
in this process, so their request log and the client share one clock.
"""

from __future__ import annotations

import time
import uuid

from bench.harness import (
    PROMPT,
    Latencies,
    Options,
    Section,
    measured_section,
    median,
    ms,
    ratio,
    servers,
)

TITLE = "5. Time to first judge token after the last draft (streaming)"


async def _one(lat: Latencies, llm: object) -> tuple[float, float]:
    """(last draft -> first answer chunk, last draft -> judge request) in seconds."""
    from fusion.api import make_context, stream_run
    from fusion.runs import db_path, open_checkpointer

    llm.requests.clear()  # type: ignore[attr-defined]
    context = make_context(panel=lat.panel_models(), judge=lat.judge_model(), web=False)
    first: float | None = None
    async with open_checkpointer(db_path()) as saver:
        async for kind, _data in stream_run({"prompt": PROMPT}, context, saver, str(uuid.uuid4())):
            if kind == "answer" and first is None:
                first = time.monotonic()
    requests = llm.requests  # type: ignore[attr-defined]
    drafts = [r.ended for r in requests if not r.model.startswith("bench/judge")]
    judge = min(r.started for r in requests if r.model.startswith("bench/judge"))
    assert first is not None and all(drafts), "no answer streamed"
    return first - max(drafts), judge - max(drafts)


async def _measure(options: Options, section: Section) -> None:
    lat = Latencies(options.scale)
    floor = lat.judge / 2  # the answer call's scripted wait before its first byte
    with servers(lat) as running:
        for _ in range(options.warmup):
            await _one(lat, running.llm)
        runs = [await _one(lat, running.llm) for _ in range(max(options.runs, 1))]
    ttft = median([r[0] for r in runs])
    to_judge = median([r[1] for r in runs])
    section.add("TTFT / scripted first byte", ratio(ttft / floor), "", f"floor {ms(floor)}")
    section.add("  last draft -> judge request sent", ms(to_judge), "", "graph steps, checkpoints")
    section.add(
        "  judge request -> first token, above floor",
        ms(ttft - to_judge - floor),
        "",
        "HTTP, streaming, messages mode",
    )
    section.data.update(ttft_ratio=ttft / floor, ttft_s=ttft, to_judge_s=to_judge, runs=runs)


def run(options: Options) -> Section:
    return measured_section(TITLE, _measure, options)

"""5. Time to the first answer token after the last draft, streaming.

From the moment the scripted server sends the last panelist's reply to the moment
the first chunk of the judge's answer comes out of `fusion.api.stream_run` (SQLite
checkpointer, as `fuse()` runs), reported apart from the judge's first byte: the
judge writes its analysis before the answer, so its first byte is not yet an answer
token. The judge's call is scripted to wait 0.3 s before its first byte, so that is
the floor: the ratios are over 0.3 s. On a real model the analysis takes its own
time to generate before the answer's first token; the scripted judge sends it at
once, so the gap measured here is Fusion's (parsing, streaming, messages mode).
Servers run in this process, so their request log and the client share one clock.
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

TITLE = "5. Time to the first answer token after the last draft (streaming)"


async def _one(lat: Latencies, llm: object) -> tuple[float, float, float]:
    """From the last draft to the first answer chunk, to the judge's request and to
    the judge's first byte, in seconds."""
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
    (judge,) = [r for r in requests if r.model.startswith("bench/judge")]
    assert first is not None and all(drafts) and judge.first_byte, "no answer streamed"
    last = max(drafts)
    return first - last, judge.started - last, judge.first_byte - last


async def _measure(options: Options, section: Section) -> None:
    lat = Latencies(options.scale)
    floor = lat.judge  # the judge call's scripted wait before its first byte
    with servers(lat) as running:
        for _ in range(options.warmup):
            await _one(lat, running.llm)
        runs = [await _one(lat, running.llm) for _ in range(max(options.runs, 1))]
    ttft = median([r[0] for r in runs])
    to_judge = median([r[1] for r in runs])
    first_byte = median([r[2] for r in runs])
    section.add("first answer token / scripted first byte", ratio(ttft / floor), "", ms(ttft))
    section.add(
        "judge's first byte / scripted first byte", ratio(first_byte / floor), "", ms(first_byte)
    )
    section.add("  last draft -> judge request sent", ms(to_judge), "", "graph steps, checkpoints")
    section.add(
        "  judge's first byte -> first answer token",
        ms(ttft - first_byte),
        "",
        "the analysis, parsing, messages mode",
    )
    section.data.update(
        ttft_ratio=ttft / floor,
        ttft_s=ttft,
        first_byte_s=first_byte,
        to_judge_s=to_judge,
        runs=runs,
    )


def run(options: Options) -> Section:
    return measured_section(TITLE, _measure, options)

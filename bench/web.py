"""The web page under `fusion serve`: loading a big finished run, and page requests
while 20 runs stream.

1. A finished run with 8 panelists and long drafts (about 1,500 words of Markdown
   each, with a 400-word answer and an analysis quoting each draft) is opened as a browser
   opens it (`GET /runs/<id>`, signed in). The server's own time is read from the
   response's `Server-Timing` header: reading the checkpoint, rendering every draft's
   Markdown, the template. The issue's budget is 100 ms.
2. Page requests (that run's page, and a small run's page) are timed idle, then while
   20 runs started from the page's form stream at once, each followed by its own
   event stream as an open tab follows it (the judge's long answer arrives chunk by
   chunk). The figure is busy / idle latency, p50 and p95.

`fusion serve` runs in its own process; the scripted models in another.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path

import httpx

from bench.cpu import KEY, started
from bench.harness import (
    PROMPT,
    Latencies,
    Options,
    Section,
    median,
    ms,
    percentile,
    ratio,
    run_async,
    servers,
)
from bench.scripted import model_id

TITLE = "8. Web page: a big finished run loads, and pages stay quick while runs stream"
BIG_PANEL = 8
CHUNK_DELAY_S = 0.01
"""Between a streamed reply's chunks (times the scale): the judge's answer streams
for about 6 seconds (100 chunks a second, a fast provider)."""
TIMING = re.compile(r"app;dur=([0-9.]+)")


async def make_runs(lat: Latencies, db: Path) -> tuple[str, str]:
    """A finished 8-panelist run with long drafts, and a small 3-panelist one."""
    import fusion

    long_panel = [model_id("long", lat.panel[i % 3], f"p{i}") for i in range(BIG_PANEL)]
    writer = model_id("writer", lat.judge)
    big = await fusion.fuse(PROMPT, panel=long_panel, judge=writer, web=False, db=str(db))
    small = await fusion.fuse(
        PROMPT, panel=lat.panel_models(), judge=lat.judge_model(), web=False, db=str(db)
    )
    if big.status != "ok" or small.status != "ok":
        raise RuntimeError(f"the runs to load ended {big.status}/{small.status}")
    assert big.thread_id and small.thread_id
    return big.thread_id, small.thread_id


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[float, float, int]:
    """(wall seconds, server seconds from Server-Timing, body bytes) of one GET."""
    began = time.perf_counter()
    response = await client.get(path)
    wall = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code}")
    found = TIMING.search(response.headers.get("server-timing", ""))
    if found is None:
        raise RuntimeError(f"GET {path}: no Server-Timing header")
    return wall, float(found.group(1)) / 1000, len(response.content)


async def start_run(client: httpx.AsyncClient, lat: Latencies, i: int) -> str:
    """A run started through the page's ask form; its thread ID."""
    form = {
        "prompt": f"{PROMPT} ({i})",
        "panel": "\n".join(lat.panel_models()),
        "judge": model_id("writer", lat.judge),
        "web_set": "1",  # the form sent with web unchecked: off
    }
    response = await client.post("/ask", data=form)
    if response.status_code != 303:
        raise RuntimeError(f"POST /ask: {response.status_code} {response.text[:300]}")
    return str(response.headers["location"]).rsplit("/", 1)[1]


async def follow(client: httpx.AsyncClient, thread_id: str) -> tuple[int, str]:
    """Follow a run's event stream as an open tab does: (answer events, final status)."""
    answers, status = 0, ""
    async with client.stream("GET", f"/runs/{thread_id}/events") as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                answers += event == "answer"
            elif line.startswith("data:") and event == "done":
                status = line
                break
    return answers, status


async def _measure(options: Options, section: Section, lat: Latencies, db: Path) -> None:
    n = max(options.runs, 1) * 4
    concurrent = max(options.server_runs, 1)
    with servers(lat, child=True, chunk_delay=CHUNK_DELAY_S * options.scale) as running:
        big, small = await make_runs(lat, db)
        env = running.env | {"FUSION_DB": str(db), "FUSION_SERVER_API_KEY": KEY}
        with started(
            "fusion serve", ["fusion.cli.main", "serve", "--log-level", "warning"], env
        ) as served:
            origin = served.base_url.removesuffix("/v1")
            headers = {"Authorization": f"Bearer {KEY}"}
            limits = httpx.Limits(max_connections=concurrent * 2 + 8)
            async with httpx.AsyncClient(
                base_url=origin, headers=headers, timeout=120, limits=limits
            ) as client:
                for _ in range(max(options.warmup, 1) * 2):
                    await timed_get(client, f"/runs/{big}")
                    await timed_get(client, f"/runs/{small}")
                loads = [await timed_get(client, f"/runs/{big}") for _ in range(n)]
                idle_big = [w for w, _, _ in loads]
                idle_small = [(await timed_get(client, f"/runs/{small}"))[0] for _ in range(n)]

                ids = [await start_run(client, lat, i) for i in range(concurrent)]
                began = time.perf_counter()
                followers = [asyncio.create_task(follow(client, t)) for t in ids]
                busy_big: list[float] = []
                busy_small: list[float] = []
                while not all(f.done() for f in followers):
                    busy_big.append((await timed_get(client, f"/runs/{big}"))[0])
                    busy_small.append((await timed_get(client, f"/runs/{small}"))[0])
                streamed = [await f for f in followers]
                stream_wall = time.perf_counter() - began

    server_times = [s for _, s, _ in loads]
    section.add(
        f"open a finished run of {BIG_PANEL} long drafts: server time, median",
        ms(median(server_times)),
        "< 100 ms",
        f"p95 {ms(percentile(server_times, 95))}; {loads[0][2] / 1024:.0f} KiB of HTML",
    )
    section.add("  the same, wall time at the client (loopback)", ms(median(idle_big)))
    section.add("  server time / 100 ms budget", ratio(median(server_times) / 0.1), "< 1.000")
    ok = sum('"ok"' in status for _, status in streamed)
    answers = sorted(float(a) for a, _ in streamed)
    note = (
        f"{concurrent} runs streaming ({ok} ok) over {stream_wall:.1f} s, each followed "
        f"by an event stream (median {median(answers):.0f} answer updates each); "
        f"{len(busy_big)} probes"
    )
    for label, idle, busy in (
        (f"{BIG_PANEL}-draft run's page", idle_big, busy_big),
        ("a 3-draft run's page", idle_small, busy_small),
    ):
        section.add(
            f"{label}: busy / idle, p50",
            ratio(median(busy) / median(idle)),
            "",
            f"idle {ms(median(idle))}, busy {ms(median(busy))}",
        )
        section.add(
            f"{label}: busy / idle, p95",
            ratio(percentile(busy, 95) / percentile(idle, 95)),
            "",
            f"idle {ms(percentile(idle, 95))}, busy {ms(percentile(busy, 95))}",
        )
    section.notes.append(note)
    section.data |= {
        "load_server_s_median": median(server_times),
        "load_server_s_p95": percentile(server_times, 95),
        "load_wall_s_median": median(idle_big),
        "load_html_bytes": loads[0][2],
        "busy_idle_big_p50": median(busy_big) / median(idle_big),
        "busy_idle_big_p95": percentile(busy_big, 95) / percentile(idle_big, 95),
        "busy_idle_small_p50": median(busy_small) / median(idle_small),
        "busy_idle_small_p95": percentile(busy_small, 95) / percentile(idle_small, 95),
        "streaming_runs": concurrent,
        "streaming_ok": ok,
        "stream_wall_s": stream_wall,
        "answer_updates": answers,
    }


def run(options: Options) -> Section:
    section = Section(TITLE)
    lat = Latencies(options.scale)
    with tempfile.TemporaryDirectory(prefix="fusion-bench-web-") as home:
        run_async(_measure(options, section, lat, Path(home) / "runs.sqlite"))
    section.notes.append(
        f"server time: Server-Timing over {max(options.runs, 1) * 4} loads after a warm-up; "
        f"busy/idle: wall time of each page request at the client, latencies x{options.scale}"
    )
    return section

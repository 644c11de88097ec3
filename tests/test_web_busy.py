"""The page stays usable while 20 runs stream at once through the same `fusion serve`.

In headless Chromium, a page follows one of 20 runs whose judges stream their answers
chunk by chunk, each followed by its own event stream as 20 open tabs would. While
they stream, the page's answer keeps growing, a DOM interaction (switching the theme)
takes effect, and the page's own requests (reading a finished run) complete. Their
time is compared with the same requests on an idle server; the ratio is printed, not
asserted (speed is `bench/`'s business: `python -m bench web`), and every run ends
`ok`.
"""

from __future__ import annotations

import json
import statistics
import threading
from typing import Any

import httpx

from tests.fixtures.browser import WEB_KEY, Watched, WebApp, browser, signed_in, web_app
from tests.fixtures.llm_replies import ChatRequest, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import analysis_for, judge_reply, responses_in

__all__ = ["browser", "signed_in", "web_app"]  # fixtures, imported so pytest finds them

RUNS = 20
LONG_ANSWER = " ".join(f"Sentence {i} of a long **fused** answer." for i in range(30))
TIMED_READ = """async (path) => {
  const began = performance.now();
  const response = await fetch(path);
  await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return performance.now() - began;
}"""
WATCH_ANSWER = """() => {
  window.__answers = new Set();
  const answer = document.querySelector("#answer");
  new MutationObserver(() => {
    if (document.querySelector("#run-root[data-live]")) window.__answers.add(answer.textContent);
  }).observe(answer, {childList: true, subtree: true, characterData: true});
}"""


def long_judge(request: ChatRequest) -> Text | Structured:
    responses = responses_in(request)
    return judge_reply(request, LONG_ANSWER, analysis_for(responses))


def ask(client: httpx.Client, prompt: str) -> str:
    asked = client.post("/ask", data={"prompt": prompt, "web_set": "1"})
    assert asked.status_code == 303, asked.text
    return str(asked.headers["location"]).rsplit("/", 1)[1]


def wait_done(client: httpx.Client, thread_id: str) -> str:
    """Follow a run's event stream to its end, as a tab does; the final data line."""
    with client.stream("GET", f"/runs/{thread_id}/events") as events:
        event = ""
        for line in events.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "done":
                return line
    return ""


def timed_reads(page: Any, path: str, n: int) -> list[float]:
    return [float(page.evaluate(TIMED_READ, path)) for _ in range(n)]


def test_the_page_stays_usable_while_twenty_runs_stream(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script("vendor/a", lambda _: Text("Draft alpha.", cost=0.001))  # every run's
    llm.script("vendor/b", lambda _: Text("Draft beta.", cost=0.001))
    llm.script("vendor/judge", long_judge)
    headers = {"Authorization": f"Bearer {WEB_KEY}"}
    client = httpx.Client(base_url=web_app.origin, headers=headers, timeout=300)
    finished = ask(client, "A finished run to read")
    assert '"ok"' in wait_done(client, finished)
    page = signed_in.page
    page.goto(f"{web_app.origin}/runs/{finished}")
    read = f"/runs/{finished}/read"
    timed_reads(page, read, 2)  # warm
    idle = timed_reads(page, read, 8)

    llm.chunk_delay = 0.01  # every judge streams its answer for a few seconds
    ids = [ask(client, f"Streaming question {i}") for i in range(RUNS)]
    statuses: dict[str, str] = {}

    def follow(thread_id: str) -> None:
        with httpx.Client(base_url=web_app.origin, headers=headers, timeout=300) as own:
            statuses[thread_id] = wait_done(own, thread_id)

    tabs = [threading.Thread(target=follow, args=(t,)) for t in ids[1:]]
    for tab in tabs:
        tab.start()
    page.goto(f"{web_app.origin}/runs/{ids[0]}")
    page.evaluate(WATCH_ANSWER)
    page.locator("#answer", has_text="Sentence 1 ").wait_for(timeout=180_000)  # streaming
    busy = timed_reads(page, read, 8)
    before = page.evaluate("document.documentElement.dataset.theme || ''")
    page.get_by_role("button", name="Dark theme").click()  # a DOM interaction, mid-stream
    assert page.evaluate("document.documentElement.dataset.theme") == "dark" != before
    still_live = page.locator("#run-root[data-live]").count() == 1
    page.locator("#run-root[data-finished]").wait_for(timeout=240_000)
    seen = page.evaluate("Array.from(window.__answers)")
    assert len(seen) >= 3, f"the answer should keep arriving in pieces: {len(seen)} updates"
    assert "Sentence 29 of a long fused answer." in page.locator("#answer").inner_text()
    for tab in tabs:
        tab.join(timeout=240)
    statuses[ids[0]] = wait_done(client, ids[0])
    client.close()
    assert sorted(statuses) == sorted(ids)
    assert [t for t, s in statuses.items() if '"ok"' not in s] == []
    for thread_id in ids:
        assert json.loads(httpx.get(
            f"{web_app.origin}/runs/{thread_id}/export.json", headers=headers, timeout=60
        ).text)["status"] == "ok"  # fmt: skip
    ratio = statistics.median(busy) / statistics.median(idle)
    print(
        f"\nreading a finished run from the page while {RUNS} runs stream: "
        f"{statistics.median(busy):.0f} ms against {statistics.median(idle):.0f} ms idle "
        f"(median, ratio {ratio:.2f}); measured mid-stream: {still_live}"
    )

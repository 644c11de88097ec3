"""The web page in headless Chromium, against `fusion serve` and the scripted model
and web servers: ask, watch the lanes and the answer stream, read the analysis and
drafts, open a run started from the CLI, resume a failed run, export a run."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.fixtures.browser import (
    WEB_KEY,
    Watched,
    WebApp,
    browser,
    open_page,
    signed_in,
    web_app,
)
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import ChatRequest, Error, Structured, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import (
    analysis_for,
    cut_judge,
    echo_judge,
    is_verdict_request,
    researcher,
    responses_in,
    script_duo,
)
from tests.fixtures.web_server import ScriptedWebServer

__all__ = ["browser", "signed_in", "web_app"]  # fixtures, imported so pytest finds them

FACT_PAGE = (
    "<html><head><title>Pluto facts</title></head>"
    "<body><p>FACT: Pluto is a dwarf planet.</p></body></html>"
)


WATCH_ANSWER = """() => {
  window.__answers = [];
  const answer = document.querySelector("#answer");
  new MutationObserver(() => {
    if (document.querySelector("#run-root[data-live]")) window.__answers.push(answer.textContent);
  }).observe(answer, {childList: true, subtree: true, characterData: true});
}"""


def ask_without_web(page: Any, question: str, preset: str | None = None) -> None:
    """Ask from the form with web tools off, then watch the run page's answer."""
    page.get_by_label("Question").fill(question)
    if preset:
        page.get_by_label("Preset", exact=True).select_option(preset)
    page.locator("#advanced summary").click()
    page.get_by_label("Web search and reading").uncheck()
    page.get_by_label("Question").press("Enter")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    page.evaluate(WATCH_ANSWER)


def script_research_panel(llm: ScriptedLLMServer, web: ScriptedWebServer) -> str:
    url = web.page("/pluto", FACT_PAGE)
    web.on_search([{"title": "Pluto facts", "url": url, "content": "about Pluto"}])
    llm.script("vendor/a", researcher("pluto status", "Draft A says "))
    llm.script(
        "vendor/b", Text("Draft B: Pluto was **reclassified** in 2006.", cost=0.002, delay=0.3)
    )
    llm.script("vendor/judge", echo_judge)
    llm.chunk_delay = 0.05  # the judge's answer arrives word by word
    return url


def test_ask_watch_the_lanes_and_the_answer_stream_then_read(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer, web: ScriptedWebServer
) -> None:
    url = script_research_panel(llm, web)
    page = signed_in.page
    page.get_by_label("Question").fill("Is Pluto a planet?")
    estimate = page.locator("#estimate")
    estimate.filter(has_text=re.compile(r"Estimated cost: \$\d")).wait_for()
    page.screenshot(path=str(web_app.shots / "ask.png"), full_page=True)

    page.get_by_label("Question").press("Enter")  # Enter sends
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    page.evaluate(WATCH_ANSWER)
    lane_a = page.locator('.lane[data-model="vendor/a"]')
    lane_a.locator(".lane-log li", has_text="search: pluto status").wait_for()
    lane_a.locator(".lane-log li", has_text=url).wait_for()
    page.locator("#answer", has_text="Fused answer").wait_for()
    page.screenshot(path=str(web_app.shots / "watch.png"), full_page=True)
    assert page.locator('.lane[data-model="vendor/b"] .lane-status').inner_text() == "done"
    assert lane_a.locator(".lane-sources a", has_text="Pluto facts").count() == 1

    page.locator("#run-root[data-finished]").wait_for()
    answer = page.locator("#answer").inner_text()
    seen: list[str] = page.evaluate("window.__answers")
    growing = [" ".join(text.split()) for text in seen if text.strip()]
    assert len(set(growing)) >= 3, f"the answer should arrive in pieces while live: {seen}"
    assert all(" ".join(answer.split()).startswith(text) for text in growing), (growing, answer)
    assert "Draft A says FACT: Pluto is a dwarf planet." in answer
    assert page.locator("#answer strong", has_text="reclassified").count() == 1  # Markdown
    analysis = page.locator("#analysis")
    assert analysis.get_by_role("heading", name="Consensus").count() == 1
    stance = analysis.locator("table.stances a.to-draft", has_text="vendor/b")
    stance.click()
    assert page.url.endswith("#" + (stance.get_attribute("href") or "#")[1:])
    drafts = page.locator("article.draft")
    assert drafts.count() == 2
    assert drafts.nth(0).locator(".sources a", has_text="Pluto facts").count() == 1
    assert page.locator("svg.chart rect.bar-cost").count() == 3
    page.screenshot(path=str(web_app.shots / "read.png"), full_page=True)


def test_a_run_from_the_cli_appears_in_the_history_and_exports(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    script_duo(llm, "CLI draft alpha", "CLI draft beta")
    done = run_fusion("ask", "Which moons does Mars have?", "--no-web", "--json", env=web_app.env)
    assert done.returncode == 0, done.stderr
    thread_id = json.loads(done.stdout)["thread_id"]

    page = signed_in.page
    page.goto(f"{web_app.origin}/runs")
    page.get_by_label("Search questions").fill("moons of")  # no match
    page.get_by_label("Search questions").press("Enter")
    page.get_by_text("No runs yet.").wait_for()
    page.get_by_label("Search questions").fill("mars")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name="Which moons does Mars have?")
    assert link.count() == 1
    page.screenshot(path=str(web_app.shots / "history.png"), full_page=True)
    link.click()
    page.wait_for_url(f"{web_app.origin}/runs/{thread_id}")
    assert "CLI draft alpha" in page.locator("#draft-1").inner_text()

    with page.expect_download() as markdown_download:
        page.get_by_role("link", name="Export Markdown").click()
    markdown = markdown_download.value.path().read_text(encoding="utf-8")
    assert markdown.startswith(f"# Fusion run {thread_id}")
    assert "Which moons does Mars have?" in markdown
    assert "## Answer" in markdown and "CLI draft beta" in markdown
    with page.expect_download() as json_download:
        page.get_by_role("link", name="Export JSON").click()
    exported = json.loads(json_download.value.path().read_text(encoding="utf-8"))
    assert exported["thread_id"] == thread_id and exported["status"] == "ok"
    assert [r["model"] for r in exported["responses"]] == ["vendor/a", "vendor/b"]


def test_resume_a_failed_run_from_its_page(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script("vendor/a", Error(400, "scripted refusal"))
    llm.script("vendor/b", Text("beta survives", cost=0.001))
    llm.script("vendor/judge", echo_judge)
    page = signed_in.page
    page.get_by_label("Question").fill("Will this fail first?")
    page.locator("#advanced summary").click()
    page.get_by_label("Quorum (drafts the judge needs)").fill("2")
    page.get_by_label("Web search and reading").uncheck()
    page.get_by_role("button", name="Ask").click()
    page.locator("#run-root[data-finished]").wait_for()
    assert page.locator("#run-status .badge").inner_text() == "failed"
    assert "insufficient_panel" in page.locator("#run-status").inner_text()
    assert "scripted refusal" in page.locator(".failures").inner_text()
    page.screenshot(path=str(web_app.shots / "failed.png"), full_page=True)

    llm.script("vendor/a", Text("alpha on the second try", cost=0.001))
    page.get_by_role("button", name="Resume").click()
    page.locator("#run-status .badge", has_text="ok").wait_for()
    assert "alpha on the second try" in page.locator("#answer").inner_text()
    assert len(llm.requests_for("vendor/b")) == 1, "the finished panelist is not called again"


def test_a_draft_and_an_answer_cut_at_their_token_limits_say_so_live_read_and_exported(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script(
        "vendor/a",
        Text("A draft that loops and loops and", completion_tokens=1942, finish_reason="length"),
    )
    llm.script("vendor/b", Text("A whole draft.", cost=0.001, delay=0.5))
    llm.script("vendor/judge", cut_judge("The fused answer, cut he"))
    page = signed_in.page
    page.get_by_label("Question").fill("Will it be cut?")
    page.locator("#advanced summary").click()
    page.get_by_label("Web search and reading").uncheck()
    page.get_by_label("Question").press("Enter")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    thread_id = page.url.rsplit("/", 1)[1]
    status_a = page.locator('.lane[data-model="vendor/a"] .lane-status')
    status_a.filter(has_text="truncated").wait_for()  # live, as the draft is done
    assert status_a.get_attribute("data-status") == "truncated"

    page.locator("#run-root[data-finished]").wait_for()
    assert page.locator("#run-status .badge").inner_text() == "degraded"
    assert "judge_truncated" in page.locator("#run-status").inner_text()
    assert "token limit" in page.locator("#answer-cut").inner_text()
    assert "The fused answer, cut he" in page.locator("#answer").inner_text()
    assert page.locator("#draft-1 .badge-truncated").inner_text() == "truncated"
    assert page.locator("#draft-2 .badge-truncated").count() == 0
    page.screenshot(path=str(web_app.shots / "truncated.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export Markdown").click()
    report = download.value.path().read_text(encoding="utf-8")
    assert "**Truncated:** the answer was cut at the judge's token limit" in report
    assert "**truncated** (cut at its token limit)" in report.split("### vendor/a", 1)[1]
    with page.expect_download() as download:
        page.get_by_role("link", name="Export JSON").click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert exported["thread_id"] == thread_id and exported["answer_truncated"] is True
    assert [r["truncated"] for r in exported["responses"]] == [True, False]


SUPERSEDED = "Superseded first answer that must not stay on the page."


def judge_asked_twice() -> Any:
    """A judge whose first verdict streams an answer, then breaks its JSON (the run
    asks again); the second verdict is whole."""
    verdicts: list[int] = []

    def handler(request: ChatRequest) -> Text | Structured | ToolCalls:
        if not is_verdict_request(request) or verdicts:
            return echo_judge(request)
        verdicts.append(1)
        name = request.body["tool_choice"]["function"]["name"]
        analysis = json.dumps(analysis_for(responses_in(request)))
        broken = analysis[:-1] + f', "answer": "{SUPERSEDED}"}}}} and then garbage'
        return ToolCalls([(name, {})], arguments_text=broken)

    return handler


def test_a_judge_asked_again_replaces_its_streamed_answer_and_says_why(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script("vendor/a", Text("Draft alpha.", cost=0.001))
    llm.script("vendor/b", Text("Draft beta.", cost=0.001))
    llm.script("vendor/judge", judge_asked_twice())
    llm.chunk_delay = 0.03
    page = signed_in.page
    ask_without_web(page, "Will the judge need two tries?")
    page.locator(".judge-log li", has_text="asking again").wait_for()
    page.locator("#run-root[data-finished]").wait_for()
    seen: list[str] = page.evaluate("window.__answers")
    assert any("Superseded" in text for text in seen), "the first answer streamed"
    mixed = [text for text in seen if "Superseded" in text and "Fused answer" in text]
    assert mixed == [], "the retried answer replaces the first one, never follows it"
    answer = page.locator("#answer").inner_text()
    assert "Fused answer" in answer and "Superseded" not in answer
    assert len(llm.requests_for("vendor/judge")) == 2


def test_a_fallback_judge_that_only_analyses_keeps_the_answer_shown(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    """The judge streams an answer but never a valid analysis; the fallback judge is
    given that answer and writes only the analysis, so the answer stays on screen."""
    kept = "The kept answer, written by the first judge."
    llm.script("vendor/a", Text("Draft alpha.", cost=0.001))
    llm.script("vendor/judge", lambda r: Structured({"consensus": 42, "answer": kept}))

    def slow_backup(request: ChatRequest) -> Text | Structured:
        reply = echo_judge(request)
        reply.delay = 1.0  # long enough for a blanked answer to be seen
        return reply

    llm.script("vendor/backup", slow_backup)
    llm.chunk_delay = 0.03
    page = signed_in.page
    ask_without_web(page, "Will the fallback judge keep the answer?", preset="backed")
    page.locator(".judge-status", has_text="vendor/backup").wait_for()
    page.locator("#run-root[data-finished]").wait_for()

    seen: list[str] = page.evaluate("window.__answers")
    first = next(i for i, text in enumerate(seen) if text.strip())
    assert all(text.strip() for text in seen[first:]), f"the answer was blanked: {seen}"
    assert kept in seen[-1]
    assert kept in page.locator("#answer").inner_text()
    (backup,) = llm.requests_for("vendor/backup")
    assert kept in backup.text  # the fallback was given the answer, and analysed it
    assert "Draft alpha." in page.locator("#analysis").inner_text()  # the fallback's


def test_the_page_asks_for_the_key_in_a_form_never_in_a_url(browser: Any, web_app: WebApp) -> None:
    watched = open_page(browser)
    page = watched.page
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(f"{web_app.origin}/runs?q=x")
    assert page.url == f"{web_app.origin}/login?next=/runs"
    page.get_by_label("Server key").fill("not-the-key")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="not this server's key").wait_for()
    page.get_by_label("Server key").fill(WEB_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{web_app.origin}/runs")
    page.get_by_role("heading", name="History").wait_for()
    assert urls and not [u for u in urls if WEB_KEY in u]
    cookie = next(c for c in page.context.cookies() if c["name"] == "fusion_session")
    assert WEB_KEY not in cookie["value"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.context.close()
    # 401 for the wrong key is the only console error, and it is the server's answer
    assert [p for p in watched.problems if "401" not in p] == []

    cookies = {"fusion_session": cookie["value"]}
    form = {"prompt": "spend my credit", "web_set": "1"}
    with httpx.Client(base_url=web_app.origin, cookies=cookies) as client:
        assert client.get("/runs").status_code == 200
        for headers in ({"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}):
            refused = client.post("/ask", data=form, headers=headers)
            assert refused.status_code == 403, headers
        assert httpx.get(f"{web_app.origin}/runs").status_code == 401  # no session


def test_keyboard_labels_themes_and_a_375_pixel_screen(
    browser: Any, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script("vendor/a", Text("Narrow alpha draft " * 40, cost=0.001))
    llm.script("vendor/b", Text("Narrow beta draft " * 40, cost=0.001))
    llm.script("vendor/judge", echo_judge)
    done = run_fusion("ask", "How does it look on a phone?", "--no-web", "--json", env=web_app.env)
    thread_id = json.loads(done.stdout)["thread_id"]
    watched = open_page(browser, width=375, height=800)
    from tests.fixtures.browser import sign_in

    sign_in(watched, web_app)
    page = watched.page
    unlabelled = page.evaluate(UNLABELLED)
    assert unlabelled == []
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    page.goto(f"{web_app.origin}/runs/{thread_id}")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    tabs = page.get_by_role("tab")
    assert tabs.count() == 2 and tabs.nth(0).is_visible()
    assert page.locator("#draft-1").is_visible() and not page.locator("#draft-2").is_visible()
    tabs.nth(0).focus()
    page.keyboard.press("ArrowRight")  # keyboard moves between drafts
    assert page.locator("#draft-2").is_visible() and not page.locator("#draft-1").is_visible()
    assert page.evaluate("document.activeElement.id") == "tab-draft-2"

    light = page.evaluate(BACKGROUND)
    page.get_by_role("button", name="Dark theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate(BACKGROUND) != light
    page.screenshot(path=str(web_app.shots / "read-narrow-dark.png"), full_page=True)
    page.reload()  # the choice is remembered
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.context.close()
    assert watched.problems == []


UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden" && el.labels.length === 0 && !el.getAttribute("aria-label"))
  .map((el) => el.name)"""
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
BACKGROUND = "getComputedStyle(document.body).backgroundColor"

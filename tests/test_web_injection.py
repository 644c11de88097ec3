"""Injection through the web page: a draft (and a search result) carrying `<script>`,
`<img onerror>` and `javascript:` links is shown as text or removed (a search result
at a `javascript:` URL is dropped by web_search itself).

Proved twice: in headless Chromium (no dialog opens, no script runs, while the
answer streams and once the run is read) and at the HTML level (the served page, the
read fragment, the live answer's stream and the exports hold no script, no event
handler attribute and no `javascript:` link).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.fixtures.browser import WEB_KEY, Watched, WebApp, browser, signed_in, web_app
from tests.fixtures.llm_replies import ChatRequest, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge
from tests.fixtures.web_server import ScriptedWebServer

__all__ = ["browser", "signed_in", "web_app"]  # fixtures, imported so pytest finds them

INJECTED = (
    "Draft with tricks: <script>alert('script'); window.__pwned = 'script'</script> "
    "<img src=\"x\" onerror=\"alert('img'); window.__pwned = 'img'\"> "
    "<a href=\"javascript:alert('raw')\">raw link</a> "
    "[click me](javascript:alert('link')) "
    "[data link](data:text/html,<script>alert('data')</script>) "
    "<svg onload=\"alert('svg')\"></svg> and <b>bold tag</b>"
)
HOSTILE_SOURCE = "javascript:alert('source')"
HOSTILE_TITLE = "<img src=x onerror=alert('title')>Tricky source"


def tricky_panelist(request: ChatRequest) -> Text | ToolCalls:
    """Searches once (the search result is hostile), then writes the injected draft."""
    if not request.tool_results and request.tool_names:
        return ToolCalls([("web_search", {"query": "tricks"})])
    return Text(INJECTED, cost=0.001)


def script_tricks(llm: ScriptedLLMServer, web: ScriptedWebServer) -> None:
    web.on_search(
        [
            {"title": "Script source", "url": HOSTILE_SOURCE, "content": "tricks"},  # dropped
            {"title": HOSTILE_TITLE, "url": web.url("/tricky"), "content": "tricks"},
        ]
    )
    llm.script("vendor/a", tricky_panelist)
    llm.script("vendor/b", Text("A plain draft.", cost=0.001))
    llm.script("vendor/judge", echo_judge)  # the answer quotes the draft: the stream too
    llm.chunk_delay = 0.02


def test_script_img_onerror_and_javascript_links_never_run_in_the_browser(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer, web: ScriptedWebServer
) -> None:
    script_tricks(llm, web)
    page = signed_in.page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_label("Question").fill("Say something tricky")
    page.get_by_label("Question").press("Enter")
    page.locator("#answer", has_text="Draft with tricks").wait_for()  # while streaming
    _assert_inert(page, dialogs)
    page.locator("#run-root[data-finished]").wait_for()
    _assert_inert(page, dialogs)
    draft = page.locator("#draft-1")
    assert "Draft with tricks" in draft.inner_text() and "bold tag" in draft.inner_text()
    draft.locator("a", has_text="click me").click()  # an emptied link: nothing happens
    draft.locator("a", has_text="data link").click()
    sources = draft.locator(".sources").inner_text()
    assert "Tricky source" in sources and "Script source" not in sources  # text; dropped
    _assert_inert(page, dialogs)
    page.screenshot(path=str(web_app.shots / "injection.png"), full_page=True)


def _assert_inert(page: Any, dialogs: list[str]) -> None:
    page.wait_for_timeout(100)  # a handler that was going to fire has fired
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    for area in ("#answer", "main"):
        assert page.locator(f"{area} script, {area} img, {area} svg:not(.chart)").count() == 0
        assert page.locator(f"{area} [onerror], {area} [onload]").count() == 0
        assert page.locator(f'{area} a[href^="javascript:"], {area} a[href^="data:"]').count() == 0


class Tags(HTMLParser):
    """Every start tag with its attributes, and the document's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert_html(html: str, scripts: int) -> str:
    """No script but the page's own, no event handler, no dangerous link: the HTML's
    text."""
    parsed = Tags()
    parsed.feed(html)
    tags = parsed.tags
    assert [a for t, a in tags if t == "script"] == [
        {"src": "/assets/app.js", "defer": ""}
    ] * scripts
    embedded = [
        (t, a)
        for t, a in tags
        if t in ("img", "iframe", "object", "embed", "svg") and a.get("class") != "chart"
    ]
    assert embedded == []
    handlers = [(t, k) for t, a in tags for k in a if k.lower().startswith("on")]
    assert handlers == []
    for tag, attrs in tags:
        for name in ("href", "src", "action", "formaction"):
            value = re.sub(r"\s", "", attrs.get(name, "")).lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    return " ".join(parsed.text)


def test_the_served_html_and_the_exports_hold_the_tricks_only_as_text(
    web_app: WebApp, llm: ScriptedLLMServer, web: ScriptedWebServer
) -> None:
    script_tricks(llm, web)
    headers = {"Authorization": f"Bearer {WEB_KEY}"}
    with httpx.Client(base_url=web_app.origin, headers=headers, timeout=60) as client:
        asked = client.post(
            "/ask", data={"prompt": "Say something tricky", "web_set": "1", "web": "on"}
        )
        assert asked.status_code == 303, asked.text
        thread_id = asked.headers["location"].rsplit("/", 1)[1]
        answers = []
        with client.stream("GET", f"/runs/{thread_id}/events") as events:
            event = ""
            for line in events.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "answer":
                    answers.append(json.loads(line[5:])["html"])
                elif line.startswith("data:") and event == "done":
                    break
        assert answers and "Draft with tricks" in answers[-1]
        for html in answers:  # the live answer, as streamed into the page
            assert_inert_html(html, scripts=0)

        page = client.get(f"/runs/{thread_id}")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        text = assert_inert_html(page.text, scripts=1)
        assert "Draft with tricks" in text and "bold tag" in text
        # the analysis quotes the draft as text: its tags are visible, escaped
        assert "<script>alert('script')" in text and "&lt;script&gt;" in page.text
        assert "Tricky source" in text  # the title, as text
        # web_search drops a result at a javascript: URL: it is no source, linked or not
        assert "Script source" not in text and HOSTILE_SOURCE not in text
        assert_inert_html(client.get(f"/runs/{thread_id}/read").text, scripts=0)

        report = client.get(f"/runs/{thread_id}/export.md").text
        assert f"<{HOSTILE_SOURCE}>" not in report  # never an autolink
        exported = json.loads(client.get(f"/runs/{thread_id}/export.json").text)
        assert exported["responses"][0]["text"] == INJECTED  # kept as written: it is data

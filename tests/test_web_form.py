"""The ask form's *Advanced settings* in headless Chromium, against `fusion serve` and
the scripted models: one labelled, described input per run option `Context` offers,
what is set reaches the models, and a refused form comes back as it was sent."""

from __future__ import annotations

import re

import httpx

from fusion.core.options import option_fields
from fusion.web.form import form_options
from fusion.web.routes import FORM_LIMIT
from tests.fixtures.browser import WEB_KEY, Watched, WebApp, browser, signed_in, web_app
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import script_duo

__all__ = ["browser", "signed_in", "web_app"]  # fixtures, imported so pytest finds them


def _plain(description: str) -> str:
    """A description as the page reads it: Markdown's code marks gone."""
    return " ".join(description.replace("`", "").split())


def test_every_option_is_a_labelled_described_input(signed_in: Watched, web_app: WebApp) -> None:
    page = signed_in.page
    page.locator("#advanced summary").click()
    described = {f.name: f.metadata["description"] for f in option_fields("serve")}
    for option in form_options():
        field = page.get_by_label(option.label, exact=True)
        assert field.count() == 1, option.label
        assert field.get_attribute("name") == option.name
        help_id = field.get_attribute("aria-describedby")
        shown = page.locator(f"#{help_id}").inner_text()
        assert " ".join(shown.split()) == _plain(described[option.name]), option.name
    # a choice offers the type's values after "default", which sends nothing
    order = page.get_by_label("Judge order", exact=True)
    assert order.locator("option").all_inner_texts() == [
        "default (analysis_first)",
        "analysis_first",
        "answer_first",
    ]
    assert page.get_by_label("Results per search", exact=True).get_attribute("max") == "20"
    page.screenshot(path=str(web_app.shots / "advanced.png"), full_page=True)
    assert signed_in.problems == []


def test_settings_once_missing_from_the_page_reach_the_models(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    script_duo(llm, "alpha draft", "beta draft")
    page = signed_in.page
    page.get_by_label("Question").fill("Does the temperature get through?")
    page.locator("#advanced summary").click()
    page.get_by_label("Web search and reading").uncheck()
    page.get_by_label("Panel temperature").fill("0.3")
    page.get_by_label("Panelist token cap").fill("300")
    page.get_by_role("button", name="Ask").click()
    page.locator("#run-root[data-finished]").wait_for()
    assert page.locator("#run-status .badge").inner_text() == "ok"
    for model in ("vendor/a", "vendor/b"):
        body = llm.requests_for(model)[0].body
        assert body["temperature"] == 0.3
        assert body.get("max_completion_tokens", body.get("max_tokens")) == 300
        assert "tools" not in body


def test_a_refused_form_comes_back_as_it_was_sent(
    signed_in: Watched, web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    page = signed_in.page
    page.get_by_label("Question").fill("Nine panelists?")
    page.locator("#advanced summary").click()
    nine = "\n".join(f"vendor/m{i}" for i in range(9))
    page.get_by_label("Panel models (one per line)").fill(nine)
    page.get_by_label("Web search and reading").uncheck()
    page.get_by_label("Search topic", exact=True).select_option("news")
    page.get_by_role("button", name="Ask").click()
    alert = page.get_by_role("alert").filter(has_text=re.compile(r"\b8\b"))
    alert.wait_for()
    # the fix in the page's words: the input to change, not the CLI's --panel
    assert "drop some “Panel models (one per line)” models" in alert.inner_text()
    assert page.locator("#advanced").get_attribute("open") is not None
    assert page.get_by_label("Panel models (one per line)").input_value() == nine
    assert not page.get_by_label("Web search and reading").is_checked()
    assert page.get_by_label("Search topic", exact=True).input_value() == "news"
    assert llm.requests == []
    # the page shown again estimates the form as sent, and is refused the same way
    page.locator("#estimate", has_text="Can't estimate").wait_for()
    # those refusals are 400s, and nothing else went wrong
    assert signed_in.problems and all("400 (Bad Request)" in p for p in signed_in.problems)
    signed_in.problems.clear()


def test_a_form_over_the_limit_is_a_413_that_says_what_to_do(
    web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    with httpx.Client(base_url=web_app.origin, timeout=60) as client:
        signed = client.post("/login", data={"key": WEB_KEY, "next": "/"})
        assert signed.status_code == 303 and "fusion_session" in client.cookies
        long_prompt = "x" * (FORM_LIMIT + 1)
        for path, field in (("/ask", "prompt"), ("/runs/any/follow-up", "question")):
            refused = client.post(path, data={field: long_prompt, "web_set": "1"})
            assert refused.status_code == 413, path
            assert "over 256 KiB: shorten the prompt" in refused.text
            assert "--prompt-file" in refused.text
        refused = client.post("/login", data={"key": long_prompt})
        assert refused.status_code == 413
        assert client.get("/").status_code == 200  # the connection and session still serve
    assert llm.requests == []

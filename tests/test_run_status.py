"""A run another runner is at now reads as `running` everywhere, not `interrupted`:
`fusion runs`, `fusion show`, the web page (no Resume or Re-judge that could only be
refused), and once its runner lets go, `interrupted` with its Resume back. Here the
runner is `fusion serve`'s OpenAI endpoint, which the page does not follow itself."""

from __future__ import annotations

import json

import httpx

from tests.fixtures.browser import WEB_KEY, WebApp, web_app
from tests.fixtures.checkpoints import wait_for
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import Hang, Text
from tests.fixtures.llm_server import ScriptedLLMServer

__all__ = ["web_app"]  # a fixture, imported so pytest finds it

QUESTION = "Who runs this run?"
OPTIONS = {"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge", "web": False}


def status_listed(app: WebApp, thread_id: str) -> str:
    listed = run_fusion("runs", "--json", env=app.env)
    assert listed.returncode == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["thread_id"] == thread_id]
    return str(row["status"])


def test_a_run_the_api_is_running_reads_as_running_until_its_client_leaves(
    web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script("vendor/a", Text("alpha draft", cost=0.001))
    llm.script("vendor/b", Hang())
    body = {
        "model": "fusion",
        "messages": [{"role": "user", "content": QUESTION}],
        "stream": True,
        "fusion": OPTIONS,
    }
    with httpx.Client(base_url=web_app.origin, timeout=60) as page:
        assert page.post("/login", data={"key": WEB_KEY, "next": "/"}).status_code == 303
        with (
            httpx.Client(timeout=60) as api,
            api.stream(
                "POST",
                f"{web_app.origin}/v1/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {WEB_KEY}"},
            ) as response,
        ):
            assert response.status_code == 200
            thread_id = response.headers["x-fusion-thread-id"]
            wait_for(lambda: bool(llm.requests_for("vendor/b")), "vendor/b's call")

            assert status_listed(web_app, thread_id) == "running"
            shown = run_fusion("show", thread_id, "--json", env=web_app.env)
            assert shown.returncode == 0, shown.stderr
            stored = json.loads(shown.stdout)
            assert stored["interrupted"] is False
            assert stored["running"] and "fusion serve" in stored["running"]
            html = page.get(f"/runs/{thread_id}").text
            assert "badge-running" in html and "Running now elsewhere" in html
            assert 'id="resume"' not in html and 'id="rejudge"' not in html
        # the client hung up: the run stops, and is resumable
        wait_for(lambda: status_listed(web_app, thread_id) == "interrupted", "the run to stop")
        html = page.get(f"/runs/{thread_id}").text
        assert "badge-interrupted" in html and 'id="resume"' in html
        assert 'id="rejudge"' not in html  # vendor/b's draft is missing: nothing to re-judge

"""The run page's Re-judge button: `POST /runs/{id}/rejudge` starts a new run that
judges the stored drafts again, and redirects to it."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from fusion.catalog import read_run
from fusion.result import FusionResult
from fusion.runs import open_checkpointer
from tests.fixtures.browser import WEB_KEY, WebApp, web_app
from tests.fixtures.cli import run_fusion
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge

__all__ = ["web_app"]  # a fixture, imported so pytest finds it
AUTH = {"Authorization": f"Bearer {WEB_KEY}"}


def test_rejudge_button_posts_a_new_run_and_redirects_to_it(
    web_app: WebApp, llm: ScriptedLLMServer
) -> None:
    llm.script("vendor/a", Text("alpha draft", cost=0.001))
    llm.script("vendor/b", Text("beta draft", cost=0.001))
    llm.script("vendor/judge", echo_judge)
    asked = run_fusion("ask", "Q?", "--no-web", "--json", env=web_app.env)
    assert asked.returncode == 0, asked.stderr
    source = json.loads(asked.stdout)["thread_id"]
    llm.reset()
    llm.script("vendor/judge", echo_judge)

    with httpx.Client(base_url=web_app.origin, headers=AUTH, timeout=30) as client:
        page = client.get(f"/runs/{source}")
        assert f'action="/runs/{source}/rejudge"' in page.text
        posted = client.post(f"/runs/{source}/rejudge")
        assert posted.status_code == 303
        new = posted.headers["location"].removeprefix("/runs/")
        assert new and new != source
        refused = client.post("/runs/no-such-run/rejudge")
        assert refused.status_code == 400 and "no run" in refused.text
        cross = client.post(f"/runs/{source}/rejudge", headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403

    result = asyncio.run(finished_run(web_app, new))
    assert result.status == "ok" and result.rejudge_of == source
    assert {r.model for r in llm.requests} == {"vendor/judge"}  # no panelist called


async def finished_run(app: WebApp, thread_id: str) -> FusionResult:
    """The run as the server's database has it, once it has finished."""
    deadline = time.monotonic() + 60
    async with open_checkpointer(app.db) as saver:
        while True:
            stored = await read_run(saver, thread_id)
            if not (stored.interrupted or stored.pending) or time.monotonic() > deadline:
                return stored.result
            await asyncio.sleep(0.1)

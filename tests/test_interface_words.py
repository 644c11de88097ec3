"""Messages fit their interface: an API client is told about options in its request,
a CLI user about flags."""

from __future__ import annotations

import openai
import pytest

from fusion.cli.main import main
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.serve import SERVER_KEY, FusionServer, fusion_server

__all__ = ["fusion_server"]  # the fixture, imported so pytest finds it here


async def test_the_served_503_names_the_request_option_not_the_flag(
    fusion_server: FusionServer, llm_env: ScriptedLLMServer
) -> None:
    api = openai.AsyncOpenAI(base_url=fusion_server.base_url, api_key=SERVER_KEY, max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        await api.chat.completions.create(  # web on, and the server has no search key
            model="fusion",
            messages=[{"role": "user", "content": "Q?"}],
            extra_body={"fusion": {"panel": ["vendor/a"], "judge": "vendor/judge"}},
        )
    await api.close()
    assert refused.value.status_code == 503
    message = str(refused.value.body)
    assert "TAVILY_API_KEY" in message and "`fusion.web: false`" in message
    assert "--no-web" not in message


def test_the_cli_names_the_flag(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    code = main(["ask", "Q?", "--panel", "vendor/a", "--judge", "vendor/judge"])
    assert code == 2
    assert "--no-web" in capsys.readouterr().err

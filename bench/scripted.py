"""The bench's scripted models and web, driven by the model name.

A model ID says how it behaves and how long it takes, so one server serves every
bench (in this process or in a child) without re-scripting:

- `bench/draft-500ms`: one call, a draft after 500 ms;
- `bench/research-500ms`: one search and one fetch round, then a draft: three calls of
  500/3 ms each, so its model time is 500 ms, plus the search's and the page's delay.
  Each panelist searches for its own name and reads its own page, so no run-level
  cache shares a download between panelists;
- `bench/judge-300ms`: each judge call takes 300 ms before its first byte; the judge
  makes one (its analysis, then the answer, streamed), so its share of the critical
  path is 300 ms.

- `bench/long-500ms`: one call, a long Markdown draft (about 1,500 words: headings,
  lists, a table, links and code) after 500 ms, as a thorough model writes;
- `bench/writer-300ms`: a judge like `judge`, whose answer is a long Markdown text of
  its own (about 400 words), so its answer streams for a while, and whose analysis
  quotes each draft's first 30 words.

An optional `-suffix` (`bench/draft-1000ms-b`) makes two panelists of the same latency.
"""

from __future__ import annotations

import re
import time

from tests.fixtures.llm_replies import ChatRequest, Reply, Text, ToolCalls
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import analysis_for, answer_for, judge_reply, responses_in
from tests.fixtures.web_server import ScriptedWebServer

MODEL = re.compile(r"bench/(draft|research|judge|long|writer)-([0-9.]+)ms(?:-\w+)?$")
FACT = "FACT: the bench page was read."
# A page with some body, so extraction does the work it does on a real article.
PAGE = (
    "<html><head><title>Bench article</title></head><body><nav>Home | About</nav>"
    "<article><h1>Bench article</h1>"
    + "".join(
        f"<p>Paragraph {i}: deliberation engines fan one prompt out to several models "
        "and fuse their drafts; this sentence is here to give the extractor work.</p>"
        for i in range(40)
    )
    + f"<p>{FACT}</p></article><footer>Contact</footer></body></html>"
)


def model_id(kind: str, seconds: float, suffix: str = "") -> str:
    """`bench/<kind>-<ms>ms[-suffix]` for a latency in seconds."""
    name = f"bench/{kind}-{seconds * 1000:g}ms"
    return f"{name}-{suffix}" if suffix else name


def latency_of(model: str) -> tuple[str, float]:
    """(kind, seconds) encoded in a bench model ID."""
    match = MODEL.match(model)
    if match is None:
        raise ValueError(f"not a bench model: {model!r}")
    return match.group(1), float(match.group(2)) / 1000


def page_path(model: str) -> str:
    """The page a research panelist finds (one per panelist)."""
    return f"/article/{model.replace('/', '-')}"


def handler(web: ScriptedWebServer):  # type: ignore[no-untyped-def]
    """The default handler of the bench's LLM server."""

    def reply(request: ChatRequest) -> Reply:
        kind, seconds = latency_of(request.model)
        if kind == "judge":
            shown = responses_in(request)
            answer = answer_for(shown) if shown else "Fused answer."
            return judge_reply(request, answer, analysis_for(shown), delay=seconds)
        if kind == "writer":  # stances and insights quote each draft's first words
            shown = {k: " ".join(v.split()[:30]) for k, v in responses_in(request).items()}
            return judge_reply(
                request, long_markdown("answer", 400), analysis_for(shown), delay=seconds
            )
        if kind == "long":
            return Text(long_markdown(request.model, 1500), delay=seconds)
        if kind == "draft":
            return Text(f"draft by {request.model}", delay=seconds)
        done = len(request.tool_results)
        if done == 0:
            return ToolCalls([("web_search", {"query": request.model})], delay=seconds / 3)
        if done == 1:
            url = web.url(page_path(request.model))
            return ToolCalls([("web_fetch", {"url": url})], delay=seconds / 3)
        read = FACT if FACT in request.text else "no fact found"
        return Text(f"draft by {request.model}: {read}", delay=seconds / 3)

    return reply


def long_markdown(author: str, words: int) -> str:
    """About `words` words of Markdown by `author`: sections of paragraphs with
    emphasis, inline code and links, a list, a table and a code block."""
    parts: list[str] = []
    count, section = 0, 0
    while count < words:
        section += 1
        paragraph = (
            f"Point {section} from {author}: a panel of models drafts *independently*, "
            f"then a judge fuses the drafts; see [source {section}]"
            f"(https://example.org/{section}) and `setting_{section}` for the details. "
        ) * 3
        parts += [
            f"## Section {section}",
            "",
            paragraph.strip(),
            "",
            f"- first consideration of section {section}",
            f"- second consideration, with **weight** {section}",
            "",
            "| option | cost | notes |",
            "| --- | --- | --- |",
            f"| A{section} | low | fast |",
            f"| B{section} | high | thorough |",
            "",
            "```python",
            f"result = fuse(prompt, panel=panel_{section})",
            "```",
            "",
        ]
        count = len(" ".join(parts).split())
    return "\n".join(parts)


def script(llm: ScriptedLLMServer, web: ScriptedWebServer, search_s: float, fetch_s: float) -> None:
    """Serve the bench models on `llm`; on `web`, a search that finds the searching
    panelist's own page (served after `fetch_s`) after `search_s`."""

    def search(query: str) -> list[dict[str, str]]:
        time.sleep(search_s)
        url = web.page(page_path(query), PAGE, delay=fetch_s)
        return [{"title": "Bench article", "url": url, "content": "About deliberation."}]

    web.on_search(search)
    llm.default(handler(web))

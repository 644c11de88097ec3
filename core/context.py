"""Run configuration: the `Context` every node reads through `Runtime[Context]`.

Studio draws its configuration form from this dataclass, so each field carries a
description and a default. Nothing secret lives here: API keys are read from the
environment when a model or tool is built, never stored in context or state.

Every field is an option everywhere at once: a `fusion ask`/`fusion estimate` flag
(`fusion.cli.flags`), a key of `fusion serve`'s `fusion` object
(`fusion.serve.schemas`), an argument of the MCP run tools (`fusion.mcp.options`) and
an input of the web page's ask form (`fusion.web.form`) are derived from the fields
below, so a new field needs no copy anywhere. Its metadata says how it shows:

- `description`: Studio's form, the API docs and the serve option (required);
- `ge` / `gt` / `le`: its range, checked by `Context` itself (`fusion.core.checks`);
- `flag`: the CLI flag when it is not `--field-name` (`--no-field` for a bool that
  defaults to true); `help` and `metavar`: the CLI's shorter wording;
- `label`: the web page's name for it (a serve option needs one); `multiline`: a
  text the page asks for in a text area;
- `cli: False` or `serve: False`: not offered there (the MCP tools follow serve);
  `internal: True`: neither (a value the graph or host sets). `tests/test_options.py`
  fails for a field that ends up with neither a flag nor a serve option without being
  marked internal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fusion.core.checks import check_fields
from fusion.core.errors import ConfigError

MAX_PANEL = 8
MAX_TOOL_CALLS_LIMIT = 16

JudgeMethod = Literal["function_calling", "json_schema", "json_mode"]
JudgeOrder = Literal["analysis_first", "answer_first"]
SearchDepth = Literal["basic", "advanced"]
SearchTopic = Literal["general", "news", "finance"]
SearchProvider = Literal["tavily", "searxng"]
ResearchMode = Literal["agentic", "prefetch", "off"]


@dataclass(kw_only=True)
class Context:
    """How one fused run is configured (presets, panel, judge, tools, limits)."""

    preset: str | None = field(
        default=None,
        metadata={
            "label": "Preset",
            "help": "preset name (see `fusion presets`)",
            "description": "Preset to start from (`quality`, `budget` or one from your "
            "config file). Its panel and judge apply unless `panel` or `judge` is set. "
            "Empty means the default preset.",
        },
    )
    panel: list[str] = field(
        default_factory=list,
        metadata={
            "label": "Panel models (one per line)",
            "metavar": "MODEL",
            "help": "a panel model ID; repeat for each panelist (1 to 8)",
            "description": "Panel model IDs (1 to 8, OpenRouter style `vendor/model`). "
            "Empty means the preset's panel.",
            # a factory has no default in the JSON schema; Studio's form shows this one
            "json_schema_extra": {"default": []},
        },
    )
    judge: str | None = field(
        default=None,
        metadata={
            "label": "Judge",
            "metavar": "MODEL",
            "help": "judge model ID",
            "description": "Judge model ID. Empty means the preset's judge.",
        },
    )
    web: bool = field(
        default=True,
        metadata={
            "label": "Web search and reading",
            "help": "no web tools",
            "description": "Offer panelists the web_search and web_fetch tools.",
        },
    )
    max_tool_calls: int = field(
        default=8,
        metadata={
            "label": "Tool calls per panelist",
            "metavar": "N",
            "help": "tool calls per panelist",
            "ge": 0,
            "le": MAX_TOOL_CALLS_LIMIT,
            "description": "Tool calls each panelist may make before it must answer "
            f"(0 to {MAX_TOOL_CALLS_LIMIT}).",
        },
    )
    temperature: float | None = field(
        default=None,
        metadata={
            "label": "Panel temperature",
            "help": "panel sampling temperature",
            "ge": 0,
            "le": 2,
            "description": "Sampling temperature for the panel. Empty keeps each "
            "model's default. The judge always runs at 0.",
        },
    )
    max_completion_tokens: int | None = field(
        default=None,
        metadata={
            "label": "Panelist token cap",
            "metavar": "N",
            "help": "cap on each panelist's output",
            "ge": 1,
            "description": "Cap on each panelist's completion tokens. Empty: no cap.",
        },
    )
    judge_max_completion_tokens: int | None = field(
        default=None,
        metadata={
            "label": "Judge token cap",
            "metavar": "N",
            "help": "cap on the judge's output",
            "ge": 1,
            "description": "Cap on the judge's completion tokens. Empty: no cap.",
        },
    )
    judge_method: JudgeMethod | None = field(
        default=None,
        metadata={
            "label": "Judge's structured output",
            "help": "how the judge is asked for its structured verdict",
            "description": "How the judge is asked for structured output: "
            "`function_calling` (most widely supported), `json_schema` or `json_mode`. "
            "Empty uses the model's setting from the config file, else function_calling.",
        },
    )
    judge_order: JudgeOrder = field(
        default="analysis_first",
        metadata={
            "label": "Judge order",
            "help": "analysis_first (default): the judge analyses the drafts, then writes the "
            "answer, in one streamed call; answer_first: the answer, then the analysis",
            "description": "`analysis_first`: the judge analyses the drafts, then writes the "
            "answer from its analysis, in one streamed call. `answer_first`: the answer, "
            "then the analysis in a second call (to compare the two orders).",
        },
    )
    research: ResearchMode = field(
        default="agentic",
        metadata={
            "label": "Research mode",
            "description": "How panelists get web evidence (with `web` on): `agentic`, "
            "each calls web_search and web_fetch itself; `prefetch`, Fusion searches the "
            "question once, reads the top pages and gives the same sources to every "
            "panelist (for models that cannot call tools; one search paid); `off`, none.",
        },
    )
    search_provider: SearchProvider | None = field(
        default=None,
        metadata={
            "label": "Search provider",
            "description": "Web search backend: `tavily` (TAVILY_API_KEY) or `searxng` (a "
            "self-hosted SearXNG instance's JSON API at SEARXNG_URL; no key). Empty: the "
            "config file's `search_provider`, else tavily.",
        },
    )
    search_max_results: int = field(
        default=5,
        metadata={
            "label": "Results per search",
            "help": "results per web_search call (1 to 20)",
            "metavar": "N",
            "ge": 1,
            "le": 20,
            "description": "Results per web_search call (1 to 20).",
        },
    )
    search_depth: SearchDepth = field(
        default="basic",
        metadata={
            "label": "Search depth",
            "help": "Tavily search depth",
            "description": "Tavily search depth: `basic` or `advanced`.",
        },
    )
    search_topic: SearchTopic = field(
        default="general",
        metadata={
            "label": "Search topic",
            "help": "Tavily search topic",
            "description": "Tavily search topic: `general`, `news` or `finance`.",
        },
    )
    fetch_max_chars: int = field(
        default=20_000,
        metadata={
            "label": "Characters per page read",
            "help": "characters of page text a web_fetch returns at most",
            "metavar": "N",
            "ge": 500,
            "description": "Characters of page text a web_fetch returns at most.",
        },
    )
    deadline_s: float | None = field(
        default=None,
        metadata={
            "label": "Deadline (seconds)",
            "metavar": "SECONDS",
            "help": "cut panelists still running after this many seconds",
            "gt": 0,
            "flag": "--deadline",
            "description": "Seconds the panel may take. Panelists still running then are "
            "cut and reported as `timeout`. Empty: wait for every panelist.",
        },
    )
    quorum: int = field(
        default=1,
        metadata={
            "label": "Quorum (drafts the judge needs)",
            "metavar": "K",
            "help": "drafts needed for the judge",
            "ge": 1,
            "description": "Drafts needed for the judge to run (1 to the panel size).",
        },
    )
    budget_usd: float | None = field(
        default=None,
        metadata={
            "label": "Budget (USD)",
            "metavar": "USD",
            "help": "refuse runs estimated to cost more",
            "gt": 0,
            "flag": "--budget",
            "description": "Refuse runs whose estimated cost exceeds this. Empty: none.",
        },
    )
    fallback_judge: str | None = field(
        default=None,
        metadata={
            "label": "Fallback judge",
            "metavar": "MODEL",
            "help": "judge to try if the judge fails",
            "description": "Judge to try when the judge fails. Empty: the preset's.",
        },
    )
    instructions: str | None = field(
        default=None,
        metadata={
            "label": "Instructions (language, format, length)",
            "multiline": True,
            "metavar": "TEXT",
            "help": "how the answer should be written (language, format, length), for panel "
            "and judge",
            "description": "How the answer should be written (language, format, length, "
            "audience), for the panel and the judge. `fusion serve` fills it from the "
            "request's system messages. Empty: none.",
        },
    )
    seed: int | None = field(
        default=None,
        metadata={
            "label": "Draft order seed",
            "help": "seed for the order drafts reach the judge",
            "description": "Seed for the order in which drafts are shown to the judge. "
            "Empty: a fresh shuffle each run.",
        },
    )

    def __post_init__(self) -> None:
        """Refuse a bad value here, whoever builds the context (Python, CLI, serve,
        LangGraph server, Studio, a parent graph): one `ConfigError` line."""
        check_fields(self)


def context_of(runtime: Any) -> Context:
    """The run's `Context`, whatever form the host handed it in.

    A Fusion run gets a `Context`; LangGraph server and hosts without a context
    schema pass a dict; a parent graph that embeds Fusion passes its own context
    object, whose attributes named like `Context` fields apply (so a parent can add
    `panel` and `judge` to its own context). No context means the defaults.
    """
    context = getattr(runtime, "context", None)
    if isinstance(context, Context):
        return context
    if context is None:
        return Context()
    if isinstance(context, dict):
        return context_from(context)
    return context_from({k: getattr(context, k) for k in CONTEXT_FIELDS if hasattr(context, k)})


def context_from(values: Mapping[str, Any]) -> Context:
    """A `Context` from the values named like its fields; other names are ignored."""
    return Context(**{k: v for k, v in values.items() if k in CONTEXT_FIELDS})


CONTEXT_FIELDS = frozenset(f.name for f in dataclasses.fields(Context))


def make_context(**options: Any) -> Context:
    """A `Context` from keyword options (None meaning the default), refusing unknown
    names with the valid ones."""
    unknown = sorted(k for k in options if k not in CONTEXT_FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown option {unknown[0]!r}: choose from {', '.join(sorted(CONTEXT_FIELDS))}"
        )
    given = {k: v for k, v in options.items() if v is not None}
    if "panel" in given:
        given["panel"] = list(given["panel"])
    return Context(**given)

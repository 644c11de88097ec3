"""What the user gave `fusion ask` and `fusion estimate`: the prompt (an argument,
`-` for stdin, or `--prompt-file`) and the run options, checked before the heavy
imports (LangChain, LangGraph, the providers' SDKs), so bad input is refused at once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from fusion.core.context import Context, make_context
from fusion.core.endpoints import check_credentials
from fusion.core.errors import ConfigError
from fusion.core.options import option_fields
from fusion.core.plan import RunPlan, resolve_plan
from fusion.core.settings import load_settings

__all__ = ["RUN_OPTIONS", "CheckedAsk", "check_ask", "context_from_args", "read_prompt"]

# one per `Context` field offered on the command line (see fusion.core.context)
RUN_OPTIONS = tuple(f.name for f in option_fields("cli"))

NO_PROMPT = (
    "no prompt: give the question as an argument, `-` to read it from stdin, or --prompt-file PATH"
)


def read_prompt(args: argparse.Namespace) -> str:
    """The prompt, stripped: the argument, stdin for `-`, or the `--prompt-file`."""
    given: str | None = args.prompt
    path: str | None = getattr(args, "prompt_file", None)
    if path is not None and given is not None:
        raise ConfigError(
            "two prompts: give the question as an argument or with --prompt-file, not both"
        )
    if path is not None:
        text = _read_file(path)
    elif given == "-":
        if sys.stdin is None:
            raise ConfigError("`-` reads the prompt from stdin, but there is no stdin")
        if sys.stdin.isatty():
            sys.stderr.write("fusion: reading the prompt from stdin; end it with Ctrl-D\n")
        text = sys.stdin.read()
    elif given is None:
        raise ConfigError(NO_PROMPT)
    else:
        text = given
    if not text.strip():
        raise ConfigError("the prompt is empty: give a question")
    return text.strip()


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"--prompt-file {path!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read --prompt-file {path!r}: {exc.strerror}") from None


def context_from_args(args: argparse.Namespace) -> Context:
    return make_context(**{name: getattr(args, name, None) for name in RUN_OPTIONS})


@dataclass(frozen=True)
class CheckedAsk:
    prompt: str
    context: Context
    plan: RunPlan


def check_ask(args: argparse.Namespace) -> CheckedAsk:
    """The prompt, options, plan (preset, panel size, model IDs, limits) and model
    keys, or a `ConfigError`; budget, context windows and the search key are checked
    next, in `preflight`."""
    prompt = read_prompt(args)
    context = context_from_args(args)
    settings = load_settings()
    plan = resolve_plan(context, settings)
    check_credentials(plan.models, settings)
    return CheckedAsk(prompt, context, plan)

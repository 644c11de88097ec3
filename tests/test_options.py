"""Run options have one home, `Context`: the CLI's flags, `fusion serve`'s `fusion`
object and the README's option table are derived from it or checked against it."""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from fusion.api import make_context
from fusion.cli.inputs import RUN_OPTIONS, context_from_args
from fusion.cli.parser import build_parser
from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.core.options import flag_of, option_fields
from fusion.serve.schemas import FusionOptions
from fusion.web.form import form_options, options_from

README = (Path(__file__).parent.parent / "README.md").read_text()
TEMPLATES = Path(__file__).parent.parent / "fusion" / "web" / "templates"
HINTS = get_type_hints(Context)
FIELDS = {f.name: f for f in dataclasses.fields(Context)}


def _command(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub: argparse.ArgumentParser = commands.choices[name]
    return sub


def _flags(command: str) -> dict[str, str]:
    """dest -> its long flag, for the command's options."""
    return {
        a.dest: a.option_strings[-1]
        for a in _command(command)._actions
        if a.option_strings and a.dest in FIELDS
    }


def _sample(name: str) -> Any:
    """A valid value for the field that differs from its default."""
    field = FIELDS[name]
    kinds = [a for a in _alternatives(HINTS[name]) if a is not type(None)]
    (kind,) = kinds
    meta = field.metadata
    if kind is bool:
        return not field.default
    if get_origin(kind) is Literal:
        return next(v for v in get_args(kind) if v != field.default)
    if get_origin(kind) is list:
        return ["vendor/a", "vendor/b"]
    if kind is int:
        low = meta.get("ge", meta.get("gt", 0))
        return next(v for v in (low + 1, low + 2) if v != field.default)
    if kind is float:
        return 1.5
    return f"some {name}"


def _alternatives(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (Union, types.UnionType):
        return get_args(hint)
    return (hint,)


def _argv(name: str, value: Any) -> list[str]:
    flag = flag_of(FIELDS[name])
    if isinstance(value, bool):
        return [flag]
    if isinstance(value, list):
        return [part for item in value for part in (flag, str(item))]
    return [flag, str(value)]


def test_every_field_is_offered_somewhere_unless_marked_internal() -> None:
    cli = {f.name for f in option_fields("cli")}
    serve = {f.name for f in option_fields("serve")}
    for field in dataclasses.fields(Context):
        assert field.metadata.get("description"), f"Context.{field.name} has no description"
        if field.name in serve:
            assert field.metadata.get("label"), f"Context.{field.name} has no label for the page"
        if field.metadata.get("internal"):
            assert field.name not in cli | serve, field.name
            continue
        assert field.name in cli | serve, (
            f"Context.{field.name} has neither a CLI flag nor a serve option: offer it, "
            "or mark it internal=True in its metadata"
        )


@pytest.mark.parametrize("command", ["ask", "estimate"])
def test_the_cli_has_a_flag_for_each_cli_field(command: str) -> None:
    expected = {f.name: flag_of(f) for f in option_fields("cli")}
    assert _flags(command) == expected
    assert set(RUN_OPTIONS) == set(expected)


def test_the_fusion_object_has_a_key_for_each_serve_field() -> None:
    assert list(FusionOptions.model_fields) == [f.name for f in option_fields("serve")]


@pytest.mark.parametrize("name", [f.name for f in option_fields("cli")])
def test_each_flag_reaches_its_context_field(name: str) -> None:
    value = _sample(name)
    args = _command("ask").parse_args(["a question", *_argv(name, value)])
    context = context_from_args(args)
    assert getattr(context, name) == value
    # and a flag not given leaves the field at its default
    default = context_from_args(_command("ask").parse_args(["a question"]))
    assert getattr(default, name) == getattr(Context(), name)


@pytest.mark.parametrize("name", [f.name for f in option_fields("serve")])
def test_each_serve_option_reaches_its_context_field(name: str) -> None:
    value = _sample(name)
    options = FusionOptions.model_validate({name: value})
    context = make_context(**options.model_dump(exclude_none=True))
    assert getattr(context, name) == value


def test_the_web_form_has_an_input_for_each_serve_field_but_the_preset_chosen_first() -> None:
    assert [o.name for o in form_options()] == [
        f.name for f in option_fields("serve") if f.name != "preset"
    ]
    assert all(o.label and o.help for o in form_options())
    # an option's input is named and identified by the option: one named like another
    # input or element of the page would be lost, or found in its place
    page = "".join((TEMPLATES / name).read_text() for name in ("base.html", "index.html"))
    own = set(re.findall(r'(?:id|name)="([\w-]+)"', page))
    own |= {f"{o.name}_set" for o in form_options()}
    assert own >= {"prompt", "preset", "advanced", "estimate"}
    assert not own & {o.name for o in form_options()}


def _as_sent(name: str, value: Any) -> dict[str, str]:
    """The form as a browser sends it with `name`'s input set to `value`."""
    if isinstance(value, bool):
        return {f"{name}_set": "1", **({name: "on"} if value else {})}
    if isinstance(value, list):
        return {name: "\n".join(value)}
    return {name: str(value)}


@pytest.mark.parametrize("name", [o.name for o in form_options()])
def test_each_web_form_input_reaches_its_context_field(name: str) -> None:
    value = _sample(name)
    context = make_context(**options_from({"prompt": "q", **_as_sent(name, value)}))
    assert getattr(context, name) == value


def test_the_web_form_sent_untouched_is_the_default_context() -> None:
    boxes = [o for o in form_options() if o.widget == "check"]
    untouched = {f"{o.name}_set": "1" for o in boxes} | {o.name: "on" for o in boxes if o.default}
    untouched |= {o.name: "" for o in form_options() if o.widget != "check"}
    assert make_context(**options_from(untouched)) == Context()


def test_a_flag_out_of_range_is_refused_by_context_in_one_line() -> None:
    args = _command("ask").parse_args(["q", "--search-max-results", "50"])
    with pytest.raises(ConfigError, match=r"^search_max_results is 50: use 1 to 20$"):
        context_from_args(args)


def test_readme_option_table_lists_every_field_with_its_flag() -> None:
    table = README.split("| option | flag | meaning (default) |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        option, flag, _ = (cell.strip().strip("`") for cell in line.strip("|").split("|"))
        rows[option] = flag
    cli = {f.name: flag_of(f) for f in option_fields("cli")}
    serve_only = {f.name: "" for f in option_fields("serve") if f.name not in cli}
    assert rows == {**cli, **serve_only}


def test_every_flag_the_readme_shows_for_ask_or_estimate_exists() -> None:
    known = {*_flags("ask").values(), "--json", "--db", "--help", "--prompt-file"}
    used: set[str] = set()
    for line in README.splitlines():
        if re.search(r"\bfusion (ask|estimate)\b", line):
            used |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line.split("#", 1)[0]))
    assert used, "the README shows no fusion ask flag"
    assert used <= known, used - known

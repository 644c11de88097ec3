"""The ask form's settings, derived from `Context`, and the run options read back.

Each option `fusion serve` takes is one input of *Advanced settings*: its `label`, its
description as help, an input fitting its type (a check box, a choice, a number in its
range, a line or a text area) and its default as the placeholder. So a new `Context`
field shows on the page with no copy here, as it does in the CLI, serve and MCP. An
empty input sends nothing, and the preset's or the default value applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from functools import cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

from markupsafe import Markup

from fusion.core.context import Context
from fusion.core.errors import ConfigError
from fusion.core.options import flag_words, held_type, option_fields, reword
from fusion.web.markdown import render

__all__ = ["FormOption", "advanced_changed", "form_options", "options_from"]

Widget = Literal["check", "choice", "number", "lines", "text"]
CHOSEN_APART = frozenset({"preset"})
"""Options the form asks for outside *Advanced settings* (the preset: a list of the
presets in force, first)."""


@dataclass(frozen=True)
class FormOption:
    """One `Context` field as an input of the form."""

    name: str
    label: str
    help: Markup
    widget: Widget
    kind: type
    default: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None

    @property
    def whole(self) -> bool:
        return self.kind is int

    @property
    def wide(self) -> bool:
        return self.widget == "lines"

    @property
    def rows(self) -> int:
        """A text area's height: a list (one item a line) gets more room."""
        return 3 if self.kind is list else 2

    def checked(self, form: Mapping[str, str]) -> bool:
        """A check box's state: as sent (a form sent without it means off), else its
        default."""
        if f"{self.name}_set" in form:
            return form.get(self.name) == "on"
        return self.default == "on"


def _option(field: Any, hint: Any) -> FormOption:
    kind = held_type(hint)
    meta = field.metadata
    default = field.default if field.default is not MISSING else None
    shown = "" if default is None else str(default)
    common: dict[str, Any] = {
        "name": field.name,
        # a field added without one still shows, under its name
        "label": meta.get("label") or field.name.replace("_", " ").capitalize(),
        "help": render(meta["description"]),  # our own text, through the safe renderer
    }
    if kind is bool:
        return FormOption(**common, widget="check", kind=bool, default="on" if default else "")
    if get_origin(kind) is Literal:
        choices = tuple(str(c) for c in get_args(kind))
        return FormOption(**common, widget="choice", kind=str, default=shown, choices=choices)
    if get_origin(kind) is list:
        return FormOption(**common, widget="lines", kind=list)
    if kind in (int, float):
        low, high = meta.get("ge", meta.get("gt")), meta.get("le")
        return FormOption(**common, widget="number", kind=kind, default=shown, low=low, high=high)
    if kind is str:
        widget: Widget = "lines" if meta.get("multiline") else "text"
        return FormOption(**common, widget=widget, kind=str, default=shown)
    raise TypeError(
        f"Context.{field.name}: no form input for type {hint}; mark it serve=False "
        "or internal=True in its metadata"
    )


@cache
def form_options() -> tuple[FormOption, ...]:
    """The inputs of *Advanced settings*, in `Context`'s order."""
    hints = get_type_hints(Context)
    return tuple(
        _option(f, hints[f.name]) for f in option_fields("serve") if f.name not in CHOSEN_APART
    )


def options_from(form: Mapping[str, str]) -> dict[str, Any]:
    """Run options from the ask form; empty inputs keep the preset's or the default.
    A value of the wrong type is refused here in one line; ranges are `Context`'s."""
    options: dict[str, Any] = {}
    preset = (form.get("preset") or "").strip()
    if preset:
        options["preset"] = preset
    for option in form_options():
        if option.widget == "check":
            if f"{option.name}_set" in form:  # sent with its box: unchecked means off
                options[option.name] = option.checked(form)
            continue
        value = (form.get(option.name) or "").strip()
        if not value:
            continue
        if option.kind is list:
            items = [item.strip() for item in value.replace(",", "\n").splitlines()]
            options[option.name] = [item for item in items if item]
        elif option.kind in (int, float):
            options[option.name] = _number(option, value)
        else:
            options[option.name] = value
    return options


def _number(option: FormOption, value: str) -> int | float:
    try:
        return int(value) if option.whole else float(value)
    except ValueError:
        what = "a whole number" if option.whole else "a number"
        raise ConfigError(f"{option.name} is {value!r}: give {what}") from None


def advanced_changed(form: Mapping[str, str]) -> bool:
    """Whether the form as sent set anything in *Advanced settings*, so a page shown
    again (after an error) opens it."""
    for option in form_options():
        if option.widget == "check":
            if option.checked(form) != (option.default == "on"):
                return True
        elif (form.get(option.name) or "").strip():
            return True
    return False


@cache
def _labels() -> dict[str, str]:
    """`--flag` -> the form's input for it, by its label."""
    label = {option.name: option.label for option in form_options()}
    label["preset"] = "Preset"  # its own menu, beside the question

    def say(field: Any, off: bool) -> str:
        shown = f"“{label.get(field.name, field.name)}”"
        return f"{shown} off" if off else shown

    return flag_words(say)


def for_page(message: str) -> str:
    """A refusal in the page's words: each run flag becomes the input that sets it."""
    return reword(message, _labels())

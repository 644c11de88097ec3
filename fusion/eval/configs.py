"""`--config NAME=SPEC`: what each compared configuration runs.

- `fusion:PRESET` runs a preset (`fusion:quality`);
- `fusion:panel=a,b,c;judge=d` a custom panel (`preset=` may be added);
- `solo:vendor/model` one direct call of one model (no panel, no judge, no tools);
- `self:vendor/model*N` self-fusion: the model sampled N times (2 to 8) and judged by
  itself, which separates the judge's lift from the panel's diversity.

`NAME=` may be left out; the spec is then the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from fusion.core.context import MAX_PANEL
from fusion.core.errors import ConfigError

Kind = Literal["fusion", "solo", "self"]
NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
SELF = re.compile(r"^(?P<model>[^*\s]+)\*(?P<n>\d+)$")
FUSION_KEYS = ("preset", "panel", "judge")


@dataclass(frozen=True)
class EvalConfig:
    """One configuration under test."""

    name: str
    spec: str
    kind: Kind
    model: str = ""
    preset: str | None = None
    panel: tuple[str, ...] = field(default=())
    judge: str | None = None

    @property
    def models(self) -> list[str]:
        """The models this config may call (for credential checks)."""
        if self.kind == "solo":
            return [self.model]
        return [*self.panel, *([self.judge] if self.judge else [])]


def parse_configs(texts: list[str] | None) -> list[EvalConfig]:
    """Every `--config`, validated; names must be unique."""
    if not texts:
        raise ConfigError(
            "give at least one --config NAME=SPEC (e.g. --config best=solo:vendor/model "
            "--config panel=fusion:quality)"
        )
    configs: list[EvalConfig] = []
    for text in texts:
        config = parse_config(text)
        if any(c.name == config.name for c in configs):
            raise ConfigError(
                f"--config name {config.name!r} is given twice: give each config its own NAME"
            )
        configs.append(config)
    return configs


def parse_config(text: str) -> EvalConfig:
    """`NAME=SPEC` or a bare `SPEC`."""
    text = text.strip()
    head, sep, rest = text.partition("=")
    if sep and ":" not in head:
        name, spec = head.strip(), rest.strip()
    else:
        name, spec = text, text
    if not NAME.match(name) and name != spec:
        raise ConfigError(
            f"--config {text!r}: NAME {name!r} may use letters, digits, '_', '.' and '-' only"
        )
    kind, colon, body = spec.partition(":")
    body = body.strip()
    if not colon or kind not in ("fusion", "solo", "self"):
        raise ConfigError(f"--config {text!r}: {_SPEC_HELP}")
    if kind == "solo":
        if not body or any(c in body for c in " ,;*="):
            raise ConfigError(f"--config {text!r}: write solo:vendor/model (one model ID)")
        return EvalConfig(name, spec, "solo", model=body)
    if kind == "self":
        match = SELF.match(body)
        if match is None or not 2 <= int(match["n"]) <= MAX_PANEL:
            raise ConfigError(
                f"--config {text!r}: write self:vendor/model*N with N from 2 to {MAX_PANEL}"
            )
        model, n = match["model"], int(match["n"])
        return EvalConfig(name, spec, "self", model=model, panel=(model,) * n, judge=model)
    return _fusion(name, spec, body, text)


def _fusion(name: str, spec: str, body: str, text: str) -> EvalConfig:
    if "=" not in body:
        if not body or any(c in body for c in " ,;/"):
            raise ConfigError(f"--config {text!r}: write fusion:PRESET (see `fusion presets`)")
        return EvalConfig(name, spec, "fusion", preset=body)
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(";"))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in FUSION_KEYS or not value.strip():
            raise ConfigError(
                f"--config {text!r}: {part!r} is not KEY=VALUE with KEY one of "
                f"{', '.join(FUSION_KEYS)} (e.g. fusion:panel=a/x,b/y;judge=c/z)"
            )
        if key in values:
            raise ConfigError(f"--config {text!r}: {key} is given twice")
        values[key] = value.strip()
    panel = tuple(m.strip() for m in values.get("panel", "").split(",") if m.strip())
    if "panel" in values and not 1 <= len(panel) <= MAX_PANEL:
        raise ConfigError(f"--config {text!r}: the panel takes 1 to {MAX_PANEL} model IDs")
    return EvalConfig(
        name, spec, "fusion", preset=values.get("preset"), panel=panel, judge=values.get("judge")
    )


_SPEC_HELP = (
    "SPEC is fusion:PRESET, fusion:panel=a,b,c;judge=d, solo:vendor/model or self:vendor/model*N"
)

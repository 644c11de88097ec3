"""`--config NAME=SPEC`: what each compared configuration runs.

- `fusion:PRESET` runs a preset (`fusion:quality`);
- `fusion:panel=a,b,c;judge=d` a custom panel (`preset=` may be added);
- `solo:vendor/model` one direct call of one model (no panel, no judge, no tools);
- `self:vendor/model*N` self-fusion: the model sampled N times (2 to 8) and judged by
  itself, which separates the judge's lift from the panel's diversity;
- `rejudge:BASE;judge=m` (keys `judge`, `fallback_judge`, `judge_order`,
  `instructions`) re-judges config BASE's drafts of each task: no panelist is called,
  so the two judges are compared on identical drafts and only judging is paid.

`NAME=` may be left out; the spec is then the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from fusion.core.context import MAX_PANEL
from fusion.core.errors import ConfigError

Kind = Literal["fusion", "solo", "self", "rejudge"]
NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
SELF = re.compile(r"^(?P<model>[^*\s]+)\*(?P<n>\d+)$")
FUSION_KEYS = ("preset", "panel", "judge")
REJUDGE_KEYS = ("judge", "fallback_judge", "judge_order", "instructions")


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
    base: str | None = None
    """A `rejudge:` config's BASE: the config whose drafts it judges again."""
    judging: tuple[tuple[str, str], ...] = field(default=())
    """A `rejudge:` config's judge options (`REJUDGE_KEYS`), as given."""

    @property
    def models(self) -> list[str]:
        """The models this config may call (for credential checks)."""
        if self.kind == "solo":
            return [self.model]
        return [*self.panel, *([self.judge] if self.judge else [])]

    @property
    def rejudge_options(self) -> dict[str, str]:
        """`fusion.rejudge`'s keyword arguments of a `rejudge:` config."""
        return dict(self.judging)


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
    for config in configs:
        if config.kind == "rejudge":
            _check_base(config, configs)
    return configs


def _check_base(config: EvalConfig, configs: list[EvalConfig]) -> None:
    base = next((c for c in configs if c.name == config.base), None)
    if base is None:
        names = ", ".join(c.name for c in configs if c.kind in ("fusion", "self")) or "none"
        raise ConfigError(
            f"--config {config.name}: rejudge:{config.base} names no config; give the NAME "
            f"of a fusion: or self: config of this eval (here: {names})"
        )
    if base.kind not in ("fusion", "self"):
        raise ConfigError(
            f"--config {config.name}: {base.name} is a {base.kind}: config, with no drafts "
            "to re-judge; give a fusion: or self: config"
        )


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
    if not colon or kind not in ("fusion", "solo", "self", "rejudge"):
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
    if kind == "rejudge":
        return _rejudge(name, spec, body, text)
    return _fusion(name, spec, body, text)


def _rejudge(name: str, spec: str, body: str, text: str) -> EvalConfig:
    base, _, rest = body.partition(";")
    base = base.strip()
    if not NAME.match(base):
        raise ConfigError(
            f"--config {text!r}: write rejudge:BASE;judge=vendor/model with BASE the NAME "
            "of the config whose drafts are judged again"
        )
    values = _key_values(rest, REJUDGE_KEYS, text, "rejudge:quality;judge=vendor/model")
    judging = tuple((k, v) for k, v in values.items())
    return EvalConfig(name, spec, "rejudge", judge=values.get("judge"), base=base, judging=judging)


def _key_values(body: str, keys: tuple[str, ...], text: str, example: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(";"))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in keys or not value.strip():
            raise ConfigError(
                f"--config {text!r}: {part!r} is not KEY=VALUE with KEY one of "
                f"{', '.join(keys)} (e.g. {example})"
            )
        if key in values:
            raise ConfigError(f"--config {text!r}: {key} is given twice")
        values[key] = value.strip()
    return values


def _fusion(name: str, spec: str, body: str, text: str) -> EvalConfig:
    if "=" not in body:
        if not body or any(c in body for c in " ,;/"):
            raise ConfigError(f"--config {text!r}: write fusion:PRESET (see `fusion presets`)")
        return EvalConfig(name, spec, "fusion", preset=body)
    values = _key_values(body, FUSION_KEYS, text, "fusion:panel=a/x,b/y;judge=c/z")
    panel = tuple(m.strip() for m in values.get("panel", "").split(",") if m.strip())
    if "panel" in values and not 1 <= len(panel) <= MAX_PANEL:
        raise ConfigError(f"--config {text!r}: the panel takes 1 to {MAX_PANEL} model IDs")
    return EvalConfig(
        name, spec, "fusion", preset=values.get("preset"), panel=panel, judge=values.get("judge")
    )


_SPEC_HELP = (
    "SPEC is fusion:PRESET, fusion:panel=a,b,c;judge=d, solo:vendor/model, "
    "self:vendor/model*N or rejudge:BASE;judge=vendor/model"
)

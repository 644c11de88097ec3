"""Turn a `Context` into the concrete run plan, and refuse bad input up front.

Every check here runs before any model call, and every refusal is one
`ConfigError` line that names the fix (the CLI prints it and exits 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from fusion.core.context import MAX_PANEL, Context
from fusion.core.errors import ConfigError
from fusion.core.settings import Settings


@dataclass(frozen=True)
class RunPlan:
    """The models a run will call, after presets and overrides are applied."""

    preset: str
    panel: list[str]
    judge: str
    fallback_judge: str | None

    @property
    def models(self) -> list[str]:
        """Every model the run may call (its keys are checked before the first call)."""
        return [*self.panel, self.judge, *([self.fallback_judge] if self.fallback_judge else [])]


def resolve_plan(context: Context, settings: Settings) -> RunPlan:
    """Apply the preset, then the explicit panel and judge, and validate the result."""
    preset_name = context.preset or settings.default_preset
    preset = settings.preset(preset_name)
    panel = [m.strip() for m in (context.panel or preset.panel)]
    if not panel:
        raise ConfigError("the panel is empty: give 1 to 8 models with --panel, or a preset")
    if len(panel) > MAX_PANEL:
        raise ConfigError(
            f"the panel has {len(panel)} models; at most {MAX_PANEL} are allowed: "
            "drop some --panel models"
        )
    if any(not m for m in panel):
        raise ConfigError("a panel model ID is empty: give IDs like vendor/model")
    # an empty --judge (an unset shell variable) is refused, never the preset's judge
    judge = (preset.judge if context.judge is None else context.judge).strip()
    if not judge:
        raise ConfigError("the judge model ID is empty: give one with --judge")
    _check_limits(context, len(panel))
    # the preset's fallback backs up the preset's judge, not a judge the caller chose
    fallback = context.fallback_judge or (None if context.judge else preset.fallback_judge)
    return RunPlan(preset_name, panel, judge, fallback if fallback != judge else None)


def _check_limits(context: Context, panel_size: int) -> None:
    """What depends on the plan; `Context` checked each value's type and range."""
    if context.quorum > panel_size:
        raise ConfigError(
            f"quorum is {context.quorum} but the panel has {panel_size} models: "
            f"use 1 to {panel_size}"
        )

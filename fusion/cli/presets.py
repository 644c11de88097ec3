"""`fusion presets`: the presets in force (shipped and from the config file)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fusion.cli.terminal import data
from fusion.core.settings import config_path, load_settings


def list_presets() -> int:
    settings = load_settings()
    table = Table(title=data(f"presets (config: {config_path()})"))
    for column in ("name", "panel", "judge", "fallback judge", "description"):
        table.add_column(column)
    for name, preset in sorted(settings.presets.items()):
        marker = " (default)" if name == settings.default_preset else ""
        table.add_row(  # names and descriptions come from a config file: data
            data(name + marker),
            data("\n".join(preset.panel)),
            data(preset.judge),
            data(preset.fallback_judge or ""),
            data(preset.description),
        )
    Console().print(table)
    return 0

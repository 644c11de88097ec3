"""Errors Fusion raises on purpose, each with a message that names the fix."""

from __future__ import annotations


class FusionError(Exception):
    """Base class for errors Fusion raises deliberately."""


class ConfigError(FusionError, ValueError):
    """Bad input or configuration, found before any model is called.

    The message is one line that tells the user what to change; the CLI prints
    it and exits 2.
    """


class SetupError(ConfigError):
    """What only whoever runs Fusion can supply is missing: an API key in the
    environment, a provider in the config file. `fusion serve` answers it with 503
    (the server's problem), not 400 (the caller's)."""


class RunBusy(ConfigError):
    """The run is being run by another runner (another process, replica or request),
    which holds its lease; the message names it. The CLI exits 2, `fusion serve`
    answers 409."""

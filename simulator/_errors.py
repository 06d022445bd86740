"""The engine's errors, in a leaf module every layer may import.

Every error a user can cause or meet (bad config, a damaged or locked run directory, an
untrusted manifest, a run that failed) derives from `SocietasError`, whose `str()` is one line
saying what was wrong and where; the CLI prints that line and exits nonzero. Anything else
escaping is a bug in Societas.
"""

from __future__ import annotations


class SocietasError(Exception):
    """An expected failure; `str()` is one line naming the key path, file, server or step."""


class ConfigError(SocietasError, ValueError):
    """A configuration value is wrong; `str()` is one line naming the key path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class SimulationError(SocietasError, RuntimeError):
    """A simulation failed; the message says which one, at which step and phase."""


class ReplayDivergence(SimulationError):
    """Re-execution asked something the recorded run did not ask, or asked it differently."""


class FallbackBudgetExceeded(SimulationError):
    """Too many answers were fallbacks (or backend failures): the run is not data."""


class RunDirectoryError(SocietasError, ValueError):
    """A run directory is locked by another process, damaged, incomplete or not one at all."""


class UntrustedManifest(SocietasError, PermissionError):
    """A manifest asks to connect somewhere or read a secret the user has not confirmed."""

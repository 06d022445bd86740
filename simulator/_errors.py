"""The engine's errors, in a leaf module every layer may import."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is wrong; `str()` is one line naming the key path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class SimulationError(RuntimeError):
    """A simulation failed; the message says which one, at which step and phase."""


class ReplayDivergence(SimulationError):
    """Re-execution asked something the recorded run did not ask, or asked it differently."""

"""Registered components chosen by name in configs; YAML can never name arbitrary code.

Scenarios come from this registry or from the ``societas.scenarios`` entry-point group (how
installed packages, including ours, add theirs). Backends are registered lazily as
``module:function`` so that naming one imports its heavy library only when it is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from societas.simulator._errors import ConfigError

if TYPE_CHECKING:
    from societas.simulator._config import BackendConfig
    from societas.simulator._scenario import Scenario
    from societas.simulator.backends import Backend

_SCENARIOS: dict[str, type[Scenario]] = {}
_BACKENDS: dict[str, str] = {
    "scripted": "societas.simulator.backends.scripted:build",
    "ray_replicas": "societas.simulator.backends.ray_replicas:build",
    "vllm": "societas.simulator.backends.vllm:build",
    "openai": "societas.simulator.backends.openai:build",
    "transformers": "societas.simulator.backends.transformers:build",
}


def register_scenario(cls: type[Scenario]) -> type[Scenario]:
    """Class decorator: make a scenario available by its `name`."""
    _SCENARIOS[cls.name] = cls
    return cls


def scenario_names() -> list[str]:
    """Every registered scenario name, sorted."""
    names = set(_SCENARIOS) | {ep.name for ep in entry_points(group="societas.scenarios")}
    return sorted(names)


def get_scenario(name: str) -> type[Scenario]:
    """The scenario class registered as `name`."""
    if name in _SCENARIOS:
        return _SCENARIOS[name]
    for ep in entry_points(group="societas.scenarios"):
        if ep.name == name:
            cls = ep.load()
            _SCENARIOS[name] = cls
            return cls
    raise ConfigError("scenario.name", f"unknown scenario {name!r}; registered: "
                      f"{', '.join(scenario_names()) or '(none)'}")


def register_backend(name: str, builder: str | Callable[[BackendConfig], Backend]) -> None:
    """Register a backend builder, as a callable or a lazy ``"module:function"`` path."""
    _BACKENDS[name] = builder  # type: ignore[assignment]


def backend_names() -> list[str]:
    """Every registered backend name, sorted."""
    return sorted(_BACKENDS)


def build_backend(config: BackendConfig, **context: Any) -> Backend:
    """Build the backend that `config` names (importing its library only now)."""
    if config.name not in _BACKENDS:
        raise ConfigError("backend.name", f"unknown backend {config.name!r}; registered: "
                          f"{', '.join(backend_names())}")
    builder: Any = _BACKENDS[config.name]
    if isinstance(builder, str):
        module, _, function = builder.partition(":")
        builder = getattr(importlib.import_module(module), function)
    return builder(config, **context)

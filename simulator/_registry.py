"""Registered components chosen by name in configs; YAML can never name arbitrary code.

Three kinds of component are registered, each from Python or from an entry-point group (how
installed packages, ours included, add theirs):

==========  ==================================  ========================================
kind        Python                              entry-point group (name = value)
==========  ==================================  ========================================
scenario    ``register_scenario(cls)``          ``societas.scenarios``: ``name = "pkg.mod:Class"``
strategy    ``register_strategy(cls)``          ``societas.strategies``: ``name = "pkg.mod:Class"``
backend     ``register_backend(name, builder)`` ``societas.backends``: ``name = "pkg.mod:build"``
==========  ==================================  ========================================

A backend builder takes the validated `BackendConfig` and returns a `Backend`; it is registered
lazily as ``"module:function"`` so that naming a backend imports its heavy library only when it
is built. A strategy serves the scenarios its ``scenarios`` attribute names (all when empty),
beside each scenario's own baselines (`Scenario.strategies`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from societas.simulator._errors import ConfigError
from societas.simulator._strategies import Strategy, strategy_table

if TYPE_CHECKING:
    from societas.simulator._config import BackendConfig
    from societas.simulator._scenario import Scenario
    from societas.simulator.backends._base import Backend

BackendBuilder = Callable[["BackendConfig"], "Backend"]

_SCENARIOS: dict[str, type[Scenario]] = {}
_STRATEGIES: dict[str, type[Strategy]] = {}
_BACKENDS: dict[str, str | BackendBuilder] = {
    "scripted": "societas.simulator.backends.scripted:build",
    "ray_replicas": "societas.simulator.backends.ray_replicas:build",
    "vllm": "societas.simulator.backends.vllm:build",
    "openai": "societas.simulator.backends.openai:build",
    "transformers": "societas.simulator.backends.transformers:build",
}


def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def _load(ep: EntryPoint) -> Any:
    try:
        return ep.load()
    except Exception as err:
        raise ConfigError("", f"the {ep.group} entry point {ep.name!r} = {ep.value!r} cannot "
                          f"be loaded ({type(err).__name__}: {err}); fix or uninstall the "
                          f"package that declares it") from err


# -- scenarios -----------------------------------------------------------------------------------
def register_scenario(cls: type[Scenario]) -> type[Scenario]:
    """Make a scenario available by its `name` (usable as a class decorator)."""
    _SCENARIOS[cls.name] = cls
    return cls


def scenario_names() -> list[str]:
    """Every registered scenario name, sorted."""
    return sorted(set(_SCENARIOS) | set(_entry_points("societas.scenarios")))


def get_scenario(name: str) -> type[Scenario]:
    """The scenario class registered as `name`."""
    if name not in _SCENARIOS:
        ep = _entry_points("societas.scenarios").get(name)
        if ep is None:
            raise ConfigError("scenario.name", f"unknown scenario {name!r}; registered: "
                              f"{', '.join(scenario_names()) or '(none)'}")
        _SCENARIOS[name] = _load(ep)
    return _SCENARIOS[name]


# -- strategies ----------------------------------------------------------------------------------
def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Make a scripted strategy available by its `name` (usable as a class decorator).

    It serves the scenarios its ``scenarios`` attribute names, or every scenario when empty.
    """
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"register_strategy expects a Strategy subclass, got {cls!r}")
    _STRATEGIES[cls.name] = cls
    return cls


def _registered_strategies() -> dict[str, type[Strategy]]:
    found = dict(_STRATEGIES)
    for name, ep in _entry_points("societas.strategies").items():
        if name not in found:
            found[name] = _STRATEGIES[name] = _load(ep)
    return found


def strategies_for(scenario: type[Scenario]) -> dict[str, type[Strategy]]:
    """The strategies a scenario may use by name: generic, its own, then registered ones.

    Raises:
        ConfigError: a registered strategy for this scenario reuses a name already taken.
    """
    table = strategy_table(scenario.strategies)
    for name, cls in _registered_strategies().items():
        if cls.scenarios and scenario.name not in cls.scenarios:
            continue
        if name in table and table[name] is not cls:
            raise ConfigError("population.strategy", f"the registered strategy {name!r} "
                              f"({cls.__module__}.{cls.__qualname__}) reuses the name of "
                              f"{scenario.name}'s own {name!r}; give it another name")
        table[name] = cls
    return table


# -- backends ------------------------------------------------------------------------------------
def register_backend(name: str, builder: str | BackendBuilder) -> None:
    """Register a backend builder, as a callable or a lazy ``"module:function"`` path."""
    _BACKENDS[name] = builder


def backend_names() -> list[str]:
    """Every registered backend name, sorted."""
    return sorted(set(_BACKENDS) | set(_entry_points("societas.backends")))


def build_backend(config: BackendConfig) -> Backend:
    """Build the backend that `config` names (importing its library only now)."""
    builder = _BACKENDS.get(config.name)
    if builder is None:
        ep = _entry_points("societas.backends").get(config.name)
        if ep is None:
            raise ConfigError("backend.name", f"unknown backend {config.name!r}; registered: "
                              f"{', '.join(backend_names())}")
        builder = _BACKENDS[config.name] = _load(ep)
    if isinstance(builder, str):
        module, _, function = builder.partition(":")
        builder = getattr(importlib.import_module(module), function)
    return builder(config)

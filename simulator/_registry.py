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
is built. A backend declares the ``backend.*`` keys it accepts beyond the common ones (name,
max_batch, sampling) as a pydantic model, ``register_backend(name, builder, settings=Model)``
(or a ``settings`` attribute of an entry point's builder); `check_backend` refuses any other key
when a run is planned, so a typo is an error, not a silently ignored setting.

A strategy serves the scenarios its ``scenarios`` attribute names (all when empty), beside each
scenario's own baselines (`Scenario.strategies`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from societas.simulator._backend_fields import NESTED, NO_ECHO
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
_SETTINGS: dict[str, str | type[BaseModel] | None] = {
    "scripted": None,
    "ray_replicas": "societas.simulator.backends.ray_replicas:ReplicaOptions",
    "vllm": "societas.simulator.backends.vllm:VLLMOptions",
    "openai": "societas.simulator.backends.openai:OpenAIOptions",
    "transformers": "societas.simulator.backends.transformers:TransformersOptions",
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
def register_backend(name: str, builder: str | BackendBuilder,
                     settings: str | type[BaseModel] | None = None) -> None:
    """Register a backend builder, as a callable or a lazy ``"module:function"`` path.

    `settings` (a pydantic model, or a lazy ``"module:Class"``) declares the ``backend.*`` keys
    the builder reads beyond the common ones; without it the backend accepts only those.
    """
    _BACKENDS[name] = builder
    _SETTINGS[name] = settings


def backend_names() -> list[str]:
    """Every registered backend name, sorted."""
    return sorted(set(_BACKENDS) | set(_entry_points("societas.backends")))


def _import(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _builder(name: str) -> BackendBuilder:
    builder = _BACKENDS.get(name)
    if builder is None:
        ep = _entry_points("societas.backends").get(name)
        if ep is None:
            raise ConfigError("backend.name", f"unknown backend {name!r}; registered: "
                              f"{', '.join(backend_names())}")
        builder = _BACKENDS[name] = _load(ep)
        _SETTINGS.setdefault(name, getattr(builder, "settings", None))
    return _import(builder) if isinstance(builder, str) else builder


def backend_settings(name: str) -> type[BaseModel] | None:
    """The settings model backend `name` declares (None: only the common keys, or unknown)."""
    if name not in _SETTINGS:
        try:
            _builder(name)
        except ConfigError:
            return None
    settings = _SETTINGS.get(name)
    if isinstance(settings, str):
        settings = _SETTINGS[name] = _import(settings)
    return settings


def check_backend(config: BackendConfig | Mapping[str, Any], path: str = "backend") -> None:
    """Refuse keys backend `config` does not declare, and values its settings reject.

    Required settings are checked when the backend is built (a caller may pass its own
    ``model_backend``); nested backend configs (``backend.replica``) are checked too.

    Raises:
        ConfigError: naming the key path, e.g. ``backend.temprature: unknown key for backend
            'vllm'; allowed keys here: ...``.
    """
    from societas.simulator._config import BackendConfig

    raw = config.model_dump() if isinstance(config, BackendConfig) else dict(config)
    name = str(raw.get("name", "scripted"))
    if name not in backend_names():
        raise ConfigError(f"{path}.name", f"unknown backend {name!r}; registered: "
                          f"{', '.join(backend_names())}")
    if "_target_" in raw:
        raise ConfigError(f"{path}._target_", "a config never names code to instantiate; "
                          f"choose a registered backend by name ({path}.name)")
    settings = backend_settings(name)
    fields = dict(settings.model_fields) if settings is not None else {}
    allowed = [*BackendConfig.model_fields, *(k for k in fields if k not in
                                               BackendConfig.model_fields)]
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{path}.{key}", f"unknown key for backend {name!r}; allowed keys "
                              f"here: {', '.join(allowed)}")
    if settings is None:
        return
    given = {k: v for k, v in raw.items() if k in fields and v != "???"}  # ???: unset yet
    try:
        settings.model_validate(given)
    except ValidationError as err:
        first = next((e for e in err.errors(include_url=False) if e["type"] != "missing"), None)
        if first is not None:
            where = ".".join([path, *(str(p) for p in first["loc"])])
            message = first["msg"]
            if first["type"] != NO_ECHO and "input" in first:
                message += f" (got {first['input']!r})"
            raise ConfigError(where, message) from None
    for key, field in fields.items():
        if field.json_schema_extra == NESTED and isinstance(given.get(key), Mapping):
            check_backend(given[key], f"{path}.{key}")


def build_backend(config: BackendConfig) -> Backend:
    """Build the backend that `config` names (importing its library only now)."""
    return _builder(config.name)(config)

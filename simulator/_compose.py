"""Hydra composition of run configs: the one module that talks to Hydra.

``societas run``, ``societas sweep``, fork overrides and Python callers all compose here, so one
set of overrides gives one config wherever it is used:

* `compose_config`: the config tree (`CONFIG_MODULE`) with command-line overrides, as a plain
  dict; exactly what ``societas run`` validates and runs.
* `group_option`: one option of a config group (``backend=vllm``), for fork overrides.
* `parse_sweep` and `compose_sweep`: Hydra's sweep grammar and the Cartesian product that
  ``-m``/multirun forms, one composed config per job, for ``societas sweep``.

Registered components need no YAML. Before composing, each scenario and backend registered from
Python (`register_scenario`, `register_backend`) or through the ``societas.scenarios`` /
``societas.backends`` entry-point groups, and not shipped as ``scenarios/conf/<group>/<name>.yaml``,
is stored in Hydra's ConfigStore as the node ``{name: <name>}``: ``scenario=<name>`` and
``backend=<name>`` then select it like a shipped option (shipped YAML wins), and an unknown
option's error lists shipped and registered options alike.

Every Hydra, OmegaConf or YAML error becomes a `ConfigError` of one line, led by the key path
or the file and line it concerns (`one_line`, `yaml_line`). Hydra is imported on first use,
never at import.

No file loses its keys silently. ``config.yaml`` lists ``_self_`` last, so its run-level values
(``seed``, ``simulations``…) override those a group option in the global package sets (a user's
``scenario/mine.yaml`` beside ``seed: 5``). Each composition is therefore compared with the same
overrides composed from `SELF_FIRST` (``config.yaml`` with ``_self_`` first); a key on which the
two differ is one a chosen file sets and ``config.yaml`` overrides, and is refused
(`_check_kept`), naming the key: set it on the command line instead.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.resources
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from societas.simulator._errors import ConfigError
from societas.simulator._registry import backend_names, scenario_names

#: The package holding the Hydra config tree (``config.yaml`` and one folder per group).
CONFIG_MODULE = "societas.scenarios.conf"
CONFIG_NAME = "config"
#: The hydra-core version every private Hydra API use below was checked against (the pin in
#: pyproject.toml; tests/test_compose.py fails when the installed Hydra differs).
HYDRA_VERSION = "1.3.8"

_VERSION_BASE = "1.3"
#: The primary config with ``_self_`` first: what the composition would be if the chosen group
#: files' run-level keys won over ``config.yaml``'s (stored in the ConfigStore; see `_check_kept`).
SELF_FIRST = "_societas_config_self_first"
_REGISTERED_GROUPS = ("scenario", "backend")


def compose_config(overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The run config that ``societas run OVERRIDES...`` composes, as a plain dict.

    Args:
        overrides: Hydra overrides (``["scenario=werewolf", "seed=3", "+population.params=..."]``).

    Raises:
        ConfigError: an unknown group option or key, or an override Hydra cannot parse (one line).
    """
    from hydra import compose

    with _hydra_errors(overrides), _initialized():
        tree = compose(config_name=CONFIG_NAME, overrides=list(overrides))
        _check_kept(tree, compose(config_name=SELF_FIRST, overrides=list(overrides)), set(),
                    overrides)
        return _plain(tree)


def group_option(group: str, option: str) -> dict[str, Any]:
    """The node that choosing `option` in config group `group` (``backend=vllm``) gives."""
    return compose_config([f"{group}={option}"])[group]


@functools.cache
def config_groups() -> tuple[str, ...]:
    """The config groups of the tree (``backend``, ``graph``, ``population``, ``scenario``)."""
    root = importlib.resources.files(CONFIG_MODULE)
    return tuple(sorted(p.name for p in root.iterdir()
                        if p.is_dir() and any(f.name.endswith(".yaml") for f in p.iterdir())))


@functools.cache
def shipped_options(group: str) -> frozenset[str]:
    """The options of `group` shipped as YAML in the config tree."""
    folder = importlib.resources.files(CONFIG_MODULE).joinpath(group)
    if not folder.is_dir():
        return frozenset()
    return frozenset(f.name.removesuffix(".yaml") for f in folder.iterdir()
                     if f.name.endswith(".yaml"))


def one_line(err: BaseException) -> str:
    """Hydra's message folded onto one line, led by the key path it concerns."""
    from hydra.errors import OverrideParseException

    text = " ".join(f"{err} {err.__cause__ or ''}".split())
    if isinstance(err, OverrideParseException):
        return f"cannot parse the override {err.override!r}: {text}"
    missing = re.search(r"Could not find '([^/']+)/([^']+)'.*?Available options in '[^']+': "
                        r"(.*?) Config search path", text)
    if missing:
        group, option, options = missing.groups()
        return f"{group}: unknown option {option!r}; available: {options.replace(' ', ', ')}"
    override = re.search(r"Could not override '([^']+)'", text)
    if override:
        key = override.group(1)
        missing = re.search(r"Key '([^']+)' is not in struct", text)
        if missing and missing.group(1) != key.rpartition(".")[2]:
            return (f"{key}: has no key {missing.group(1)!r} in the config; to set new keys "
                    f"inside it, write +{key}=...")
        return f"{key}: unknown key (to add a key that is not in the config, write +{key}=...)"
    return text


def yaml_line(err: Exception) -> str:
    """A YAML error (bad syntax, a duplicate key, a ``!!python/...`` tag) as one line."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f"{mark.name}, line {mark.line + 1}" if mark is not None else "a YAML config file"
    problem = " ".join(str(getattr(err, "problem", None) or err).split())
    if "constructor for the tag" in problem:
        problem += " (configs are plain YAML: tags that build Python objects are refused)"
    return f"{where}: {problem}"


def _check_kept(tree: Any, self_first: Any, overridden: set[str],
                overrides: Sequence[str]) -> None:
    """Refuse a run-level key that a chosen group file sets and ``config.yaml`` overrides.

    Args:
        tree: the composition (``config.yaml``'s values win over the group files').
        self_first: the same overrides composed from `SELF_FIRST` (the group files' win).
        overridden: top-level keys set by value overrides applied to neither (sweep jobs).
        overrides: the overrides composed, named in the message.
    """
    for key in _store_self_first():  # only config.yaml's own keys can override a file's
        if key in overridden or key not in tree or repr(tree[key]) == repr(self_first[key]):
            continue  # repr: nan equals nan
        choices = ", ".join(o for o in overrides if "=" in o and "." not in o.partition("=")[0])
        raise ConfigError(str(key), f"a chosen config file ({choices or 'a group default'}) sets "
                          f"{self_first[key]!r}, but config.yaml's {tree[key]!r} overrides it; "
                          f"set {key}=... on the command line instead and remove it from the file")


# -- sweeps ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepOverride:
    """One override of a sweep as Hydra parsed it.

    Args:
        text: the override as given (``"seed=range(3)"``).
        key: the config key or group it sets (``"seed"``).
        swept: whether it takes several values (``a,b``, ``range(…)``, ``choice(…)``).
        empty: whether it is swept over no value at all (``range(-3)``).
    """

    text: str
    key: str
    swept: bool
    empty: bool = False


@dataclass(frozen=True)
class SweepJob:
    """One point of a sweep: its overrides, the value each sets, and its composed config."""

    overrides: tuple[str, ...]
    values: dict[str, Any]
    config: dict[str, Any]


def parse_sweep(overrides: Sequence[str]) -> list[SweepOverride]:
    """Parse sweep overrides with Hydra's grammar; a grammar error names its override."""
    with _hydra_errors(overrides), _initialized() as loader:
        parser = _parser(loader)
        return [_parse(parser, item) for item in overrides]


def compose_sweep(overrides: Sequence[str]) -> list[SweepJob]:
    """Every job of the sweep, in Hydra's multirun order, each composed like `compose_config`."""
    with _hydra_errors(overrides), _initialized() as loader:
        parser = _parser(loader)
        parsed = parser.parse_overrides(list(overrides))
        composer = _JobComposer(loader)
        jobs = []
        for job in _split_sweep(parsed):
            job_overrides = parser.parse_overrides(job)
            values = {o.key_or_group: o.value() for o in job_overrides}
            jobs.append(SweepJob(tuple(job), values, composer.compose(job_overrides)))
        return jobs


def _parser(loader: Any) -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create(config_loader=loader)


def _parse(parser: Any, item: str) -> SweepOverride:
    override = parser.parse_overrides([item])[0]  # its errors name the override
    swept = override.is_sweep_override()
    empty = swept and next(iter(override.sweep_string_iterator()), None) is None
    return SweepOverride(item, override.key_or_group, swept, empty)


# -- Hydra sessions --------------------------------------------------------------------------------
@contextlib.contextmanager
def _hydra_errors(overrides: Sequence[str] = ()) -> Iterator[None]:
    """Turn any Hydra, OmegaConf or YAML error raised inside into a one-line `ConfigError`.

    `overrides`, the command line being composed, is checked first for an override without a
    key (``=3``), and named in the message of a bare ``ValueError`` Hydra raises.
    """
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    for item in overrides:
        if "=" in item and not item.partition("=")[0].lstrip("+~"):
            raise ConfigError("", f"cannot parse the override {item!r}: it has no key before "
                              "'=' (write key=value, e.g. seed=3)")
    try:
        yield
    except ConfigError:
        raise
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError("", one_line(err)) from None
    except yaml.YAMLError as err:
        raise ConfigError("", yaml_line(err)) from None
    except ValueError as err:  # Hydra's own checks of an override's value
        raise ConfigError("", f"Hydra refused the overrides {' '.join(overrides)}: "
                          f"{' '.join(str(err).split())}") from None


@contextlib.contextmanager
def _initialized() -> Iterator[Any]:
    """Hydra initialised on the config tree, registered components stored; yields its loader."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    _store_registered()
    _store_self_first()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base=_VERSION_BASE):
        yield GlobalHydra.instance().config_loader()


_STORED: set[tuple[str, str]] = set()
"""The (group, name) nodes this module put in Hydra's ConfigStore (and only those)."""


def _store_registered() -> None:
    """Store a ``{name: <name>}`` node for each registered option without shipped YAML.

    Nodes of components no longer registered are removed, so the ConfigStore mirrors the
    registries at every composition.
    """
    from hydra.core.config_store import ConfigStore

    names = {"scenario": scenario_names(), "backend": backend_names()}
    wanted = {(group, name) for group in _REGISTERED_GROUPS for name in names[group]
              if name not in shipped_options(group)}
    store = ConfigStore.instance()
    for group, name in _STORED - wanted:
        _remove_node(store, group, name)
    for group, name in sorted(wanted - _STORED):
        store.store(group=group, name=name, node={"name": name})
    _STORED.clear()
    _STORED.update(wanted)


@functools.cache
def _store_self_first() -> tuple[str, ...]:
    """Store `SELF_FIRST` (``config.yaml`` with ``_self_`` first); returns config.yaml's keys."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    text = importlib.resources.files(CONFIG_MODULE).joinpath(f"{CONFIG_NAME}.yaml").read_text()
    node = OmegaConf.to_container(OmegaConf.create(text))
    assert isinstance(node, dict)
    defaults = [d for d in node.get("defaults", []) if d != "_self_"]
    ConfigStore.instance().store(name=SELF_FIRST, node={**node, "defaults": ["_self_", *defaults]})
    return tuple(str(k) for k in node if k != "defaults")


def _plain(cfg: Any) -> dict[str, Any]:
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    return {str(k): v for k, v in raw.items()}


# -- private Hydra APIs (hydra-core==1.3.8) --------------------------------------------------------
# Hydra has no public API for three things done here; each private use sits in one function
# below, checked against HYDRA_VERSION, the version pyproject.toml pins. tests/test_compose.py
# fails when the installed Hydra is another version, and checks that the cached per-job
# composition equals public `compose()` for several override sets (group choices included).
#
# * `_split_sweep`: hydra._internal.core_plugins.basic_sweeper.BasicSweeper.split_arguments is
#   the Cartesian product of `-m`/multirun; calling it makes `societas sweep` expand exactly as
#   Hydra multirun does, in the same order.
# * `_JobComposer`: composing one job with public `compose()` costs about 0.05-0.1 s (the
#   defaults list), which a 1,000-run sweep would pay 1,000 times. The defaults list depends only
#   on the group choices, so the tree is composed once per distinct choice, and the other
#   overrides are applied to a copy of it with
#   hydra._internal.config_loader_impl.ConfigLoaderImpl._apply_overrides_to_config, the step
#   `compose()` itself ends with. Telling a group choice from a value override uses the
#   loader's `repository.group_exists`, Hydra's own test when it builds the defaults list.
# * `_remove_node`: ConfigStore has `store` but no removal; its `repo` dict (group -> {name.yaml:
#   node}) is edited directly to drop a node of a component that is no longer registered.
def _split_sweep(parsed: list[Any]) -> list[list[str]]:
    """The sweep's jobs, each a list of ``key=value`` overrides (Hydra's multirun order)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


class _JobComposer:
    """Hydra's composition of one job, with the defaults list composed once per group choice."""

    def __init__(self, loader: Any) -> None:
        self._repository = loader.repository
        self._trees: dict[tuple[str, ...], Any] = {}
        self._self_first: dict[tuple[str, ...], Any] = {}

    def compose(self, overrides: list[Any]) -> dict[str, Any]:
        """The resolved config of one job (parsed overrides), as a plain dict."""
        from hydra import compose
        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        groups = [o for o in overrides if self._is_group_choice(o)]
        values = [o for o in overrides if not self._is_group_choice(o)]
        key = tuple(o.input_line for o in groups)
        if key not in self._trees:
            self._trees[key] = compose(config_name=CONFIG_NAME, overrides=list(key))
            self._self_first[key] = compose(config_name=SELF_FIRST, overrides=list(key))
        _check_kept(self._trees[key], self._self_first[key],
                    {str(o.key_or_group).lstrip("+~").partition(".")[0] for o in values}, key)
        tree = copy.deepcopy(self._trees[key])
        ConfigLoaderImpl._apply_overrides_to_config(values, tree)
        return _plain(tree)

    def _is_group_choice(self, override: Any) -> bool:
        """Hydra's own test (`DefaultsList` construction): a group name and a non-dict value.

        ``hydra.*`` overrides (``hydra.searchpath=[file://conf]``) shape the tree too.
        """
        if str(override.key_or_group).startswith("hydra."):
            return True
        return bool(self._repository.group_exists(override.key_or_group)) and not isinstance(
            override.value(), dict)


def _remove_node(store: Any, group: str, name: str) -> None:
    store.repo.get(group, {}).pop(f"{name}.yaml", None)

"""From ``key=a,b seed='range(3)'`` to one validated run config per point of the sweep.

Hydra does all the parsing: its override grammar reads the command line, and its
`BasicSweeper` forms the Cartesian product of the swept keys, exactly as ``-m``/multirun would.
Each point is then composed through the same config tree as ``societas run``, so a sweep run
and a single run given the same overrides have the same config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from societas.simulator._errors import ConfigError
from societas.simulator._log import EVENT_SCHEMA

CONFIG_MODULE = "societas.scenarios.conf"

#: Keys the sweep sets itself for every run; sweeping or overriding them is an error.
RESERVED_KEYS = frozenset({"run_id", "progress"})

#: Partition columns may not shadow event columns (polars would silently replace them).
EVENT_COLUMNS = frozenset(EVENT_SCHEMA.names)


@dataclass(frozen=True)
class RunSpec:
    """One point of a sweep: its overrides, partition values and validated config.

    Args:
        index: position in Hydra's expansion order.
        overrides: the Hydra overrides composing this run (``["seed=3", ...]``).
        partition: ``{column: value}`` in partition order, ``scenario`` first.
        config: the composed run config (plain dict; `out_dir` and `run_id` not yet set).
        key: a stable digest of the overrides, naming the run inside its partition.
    """

    index: int
    overrides: tuple[str, ...]
    partition: dict[str, str]
    config: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Expansion:
    """Every run of a sweep, plus what was swept."""

    overrides: tuple[str, ...]
    swept: tuple[str, ...]
    runs: list[RunSpec]

    @property
    def partition_keys(self) -> tuple[str, ...]:
        """Partition columns in directory order: ``scenario`` then each swept key."""
        return ("scenario", *(k for k in self.swept if k != "scenario"))


def expand(overrides: Sequence[str]) -> Expansion:
    """Expand Hydra sweep overrides into validated run configs; raises `ConfigError`."""
    from hydra import initialize_config_module
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from societas.simulator.cli import _one_line

    runs: list[RunSpec] = []
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            loader = GlobalHydra.instance().config_loader()
            parser = OverridesParser.create(config_loader=loader)
            parsed = [_parse(parser, item) for item in overrides]
            swept = tuple(o.key_or_group for o in parsed if o.is_sweep_override())
            _check_keys(parsed, swept)
            jobs = BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]
            composer = _Composer(parser, loader)
            for index, job in enumerate(jobs):
                job_overrides = [parser.parse_override(item) for item in job]
                config = composer.compose(job_overrides)
                values = {o.key_or_group: o.value() for o in job_overrides
                          if o.key_or_group in swept}
                runs.append(_spec(index, job, swept, values, config))
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError("", _one_line(err)) from None
    return Expansion(tuple(overrides), swept, runs)


class _Composer:
    """Hydra's composition of one job, with the expensive part done once per group choice.

    Hydra composes a job in two stages: the config-group choices (``backend=vllm``) build the
    defaults list and the merged tree, then every other override is applied to that tree in
    command-line order (`ConfigLoaderImpl._apply_overrides_to_config`). The first stage costs
    about 0.1 s and depends only on the group choices, so it is cached per distinct choice;
    the second stage is Hydra's own code, run per job. Same result as ``compose`` per job.
    """

    def __init__(self, parser: Any, loader: Any) -> None:
        self._repo = loader.repository
        self._trees: dict[tuple[str, ...], Any] = {}

    def compose(self, overrides: list[Any]) -> dict[str, Any]:
        """The resolved config of one job, as a plain dict."""
        import copy

        from hydra import compose
        from hydra._internal.config_loader_impl import ConfigLoaderImpl
        from omegaconf import OmegaConf

        groups = [o for o in overrides if self._is_group_choice(o)]
        values = [o for o in overrides if not self._is_group_choice(o)]
        key = tuple(o.input_line for o in groups)
        if key not in self._trees:
            self._trees[key] = compose(config_name="config", overrides=list(key))
        tree = copy.deepcopy(self._trees[key])
        ConfigLoaderImpl._apply_overrides_to_config(values, tree)
        raw = OmegaConf.to_container(tree, resolve=True)
        assert isinstance(raw, dict)
        return {str(k): v for k, v in raw.items()}

    def _is_group_choice(self, override: Any) -> bool:
        """Hydra's own test (`DefaultsList` construction): a group name and a non-dict value."""
        return bool(self._repo.group_exists(override.key_or_group)) and not isinstance(
            override.value(), dict)


def _parse(parser: Any, item: str) -> Any:
    """One override, parsed by Hydra; a grammar error names the override it is about."""
    from hydra.errors import HydraException

    try:
        return parser.parse_override(item)
    except HydraException as err:
        from societas.simulator.cli import _one_line

        raise ConfigError("", f"cannot parse the override {item!r}: {_one_line(err)}") from None


def _check_keys(parsed: list[Any], swept: tuple[str, ...]) -> None:
    for override in parsed:
        key = override.key_or_group
        if key in RESERVED_KEYS:
            raise ConfigError(key, "set by the sweep for every run; remove this override")
        if key == "out_dir" and override.is_sweep_override():
            raise ConfigError("out_dir", "cannot be swept: a sweep writes under one directory")
    for key in swept:
        if key in EVENT_COLUMNS:
            raise ConfigError(key, f"cannot be a partition column: the event log has a {key!r} "
                              "column; sweep it under another key")


def _spec(index: int, job: Sequence[str], swept: tuple[str, ...], values: dict[str, Any],
          config: dict[str, Any]) -> RunSpec:
    scenario = config.get("scenario")
    name = scenario.get("name") if isinstance(scenario, dict) else None
    if not name:
        raise ConfigError("scenario.name", "missing; choose a scenario, e.g. scenario=donor_game")
    partition = {"scenario": str(name)}
    for key in swept:
        if key != "scenario":
            partition[key] = partition_value(values[key])
    return RunSpec(index, tuple(job), partition, config, run_key(job))


def partition_value(value: Any) -> str:
    """A swept value as the text of its partition directory (before percent-encoding)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) or value is None:
        return json.dumps(value)
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def run_key(job: Sequence[str]) -> str:
    """A stable 10-hex digest of a run's overrides (order-insensitive)."""
    digest = hashlib.blake2b("\n".join(sorted(job)).encode(), digest_size=5)
    return digest.hexdigest()

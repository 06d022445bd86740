"""From ``key=a,b seed='range(3)'`` to one validated run config per point of the sweep.

Hydra does all the parsing: its override grammar reads the command line, and the Cartesian
product of the swept keys is formed exactly as ``-m``/multirun would (`_compose.compose_sweep`).
Each point is composed through the same config tree as ``societas run``, so a sweep run and a
single run given the same overrides have the same config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from societas.simulator._compose import SweepJob, SweepOverride, compose_sweep, parse_sweep
from societas.simulator._errors import ConfigError
from societas.simulator._log import EVENT_SCHEMA

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
    parsed = parse_sweep(overrides)
    swept = tuple(o.key for o in parsed if o.swept)
    _check_keys(parsed, swept)
    runs = [_spec(index, job, swept) for index, job in enumerate(compose_sweep(overrides))]
    return Expansion(tuple(overrides), swept, runs)


def _check_keys(parsed: list[SweepOverride], swept: tuple[str, ...]) -> None:
    for override in parsed:
        key = override.key
        if override.empty:
            raise ConfigError(key, f"{override.text!r} sweeps over no value, so the sweep has no "
                              "runs; e.g. seed='range(3)' is 0, 1, 2")
        if key in RESERVED_KEYS:
            raise ConfigError(key, "set by the sweep for every run; remove this override")
        if key == "out_dir" and override.swept:
            raise ConfigError("out_dir", "cannot be swept: a sweep writes under one directory")
    for key in swept:
        if key in EVENT_COLUMNS:
            raise ConfigError(key, f"cannot be a partition column: the event log has a {key!r} "
                              "column; sweep it under another key")


def _spec(index: int, job: SweepJob, swept: tuple[str, ...]) -> RunSpec:
    scenario = job.config.get("scenario")
    name = scenario.get("name") if isinstance(scenario, dict) else None
    if not name:
        raise ConfigError("scenario.name", "missing; choose a scenario, e.g. scenario=donor_game")
    partition = {"scenario": str(name)}
    for key in swept:
        if key != "scenario":
            partition[key] = partition_value(job.values[key])
    return RunSpec(index, job.overrides, partition, job.config, run_key(job.overrides))


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

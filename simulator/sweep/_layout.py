"""Where a sweep's runs live on disk, and what state each one is in.

Layout (hive-style partitions, one run directory per point)::

    <out_dir>/sweep/<name>/sweep.json
    <out_dir>/sweep/<name>/scenario=donor_game/seed=3/<name>-<key>/manifest.json
                                                                   events/part-*.parquet
                                                                   calls/part-*.parquet

``polars.scan_parquet("<out_dir>/sweep/<name>/**/events/*.parquet", hive_partitioning=True)``
reads every run as one frame with a column per partition key. Partition values are
percent-encoded, which polars decodes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from societas.simulator._clock import now_utc
from societas.simulator._errors import ConfigError
from societas.simulator._log import write_json_atomic
from societas.simulator.sweep._expand import Expansion, RunSpec

SWEEP_FILE = "sweep.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class RunState(Enum):
    """What is on disk for one run of the sweep."""

    MISSING = "missing"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """A directory whose manifest says running/interrupted, or is unreadable: a killed run."""


@dataclass(frozen=True)
class RunPlace:
    """One run's identity and directory inside the sweep."""

    spec: RunSpec
    run_id: str
    run_dir: Path
    partition_path: str
    """``scenario=donor_game/seed=3``: the run's partition, as written on disk."""


def check_name(name: str) -> str:
    """A sweep name fit for a directory and a run-id prefix; raises `ConfigError` otherwise."""
    if not _NAME.match(name):
        raise ConfigError("--name", f"{name!r}: use letters, digits, '.', '_' or '-' "
                          "(starting with a letter or digit)")
    return name


def sweep_dir(out_dir: str | Path, name: str) -> Path:
    """The directory holding every run of sweep `name`."""
    return Path(out_dir).resolve() / "sweep" / check_name(name)


def place(root: Path, name: str, spec: RunSpec) -> RunPlace:
    """Where `spec` runs: its partition directory and a stable run id."""
    parts = [f"{quote(column, safe='.')}={quote(value, safe='')}"
             for column, value in spec.partition.items()]
    run_id = f"{name}-{spec.key}"
    return RunPlace(spec, run_id, root.joinpath(*parts, run_id), "/".join(parts))


def run_state(run_dir: Path) -> RunState:
    """The state of a run directory, read from its manifest."""
    manifest = run_dir / "manifest.json"
    if not run_dir.exists():
        return RunState.MISSING
    try:
        status = json.loads(manifest.read_text()).get("status")
    except (OSError, ValueError):
        return RunState.INTERRUPTED
    if status == "completed":
        return RunState.COMPLETED
    if status == "failed":
        return RunState.FAILED
    return RunState.INTERRUPTED


def write_sweep_file(root: Path, name: str, expansion: Expansion) -> None:
    """Record the sweep's overrides and partition keys; refuse a layout that would not scan.

    A sweep directory may be rerun with more values (``seed='range(200)'`` after
    ``range(100)``), but not with other partition keys: one hive dataset has one set of
    partition columns.
    """
    path = root / SWEEP_FILE
    keys = list(expansion.partition_keys)
    history: list[dict[str, Any]] = []
    if path.is_file():
        previous = json.loads(path.read_text())
        if previous.get("partition_keys") != keys:
            raise ConfigError(
                "--name", f"sweep {name!r} at {root} is partitioned by "
                f"{previous.get('partition_keys')} but this command sweeps {keys}; choose "
                "another --name")
        history = previous.get("history", [])
    history.append({"at": now_utc().isoformat(), "overrides": list(expansion.overrides),
                    "runs": len(expansion.runs)})
    root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"name": name, "partition_keys": keys, "history": history})

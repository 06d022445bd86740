"""Reading run directories as polars LazyFrames (one run or many).

Every directory read is checked for its manifest's log format first: one written by a newer
societas than this one is refused with the fix, rather than misread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from societas.simulator._log import read_manifest

PathLike = str | os.PathLike[str]


def run_dirs(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    """Run directories under `paths` (each given path may be a run or a folder of runs)."""
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    found: list[Path] = []
    for path in map(Path, given):
        if (path / "manifest.json").is_file():
            found.append(path)
        else:
            found.extend(sorted(p.parent for p in path.rglob("manifest.json")))
    if not found:
        raise FileNotFoundError(f"no run directory (with manifest.json) under {given}")
    return found


def _scan(paths: PathLike | Iterable[PathLike], table: str) -> pl.LazyFrame:
    dirs = run_dirs(paths)
    for run_dir in dirs:
        read_manifest(run_dir)  # refuses a log format newer than this code reads
    files = [str(f) for d in dirs for f in sorted((d / table).glob("part-*.parquet"))]
    if not files:
        raise FileNotFoundError(f"the runs under {paths} have no {table} chunks yet")
    return pl.scan_parquet(files)


def events(paths: PathLike | Iterable[PathLike]) -> pl.LazyFrame:
    """Every event of the given runs: run_id, sim, seq, step, phase, kind, actor, target, data."""
    return _scan(paths, "events")


def calls(paths: PathLike | Iterable[PathLike]) -> pl.LazyFrame:
    """Every model/strategy call of the given runs."""
    return _scan(paths, "calls")


def manifest(run_dir: PathLike) -> dict[str, Any]:
    """One run's manifest (checked to be in a log format this code reads)."""
    return read_manifest(run_dir)


def fields(frame: pl.LazyFrame, **dtypes: pl.DataType | type[pl.DataType]) -> pl.LazyFrame:
    """Extract fields of the ``data`` JSON column as typed columns."""
    def extract(name: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
        raw = pl.col("data").str.json_path_match(f"$.{name}")
        return (raw == "true") if dtype == pl.Boolean else raw.cast(dtype)

    return frame.with_columns(extract(name, dtype).alias(name) for name, dtype in dtypes.items())

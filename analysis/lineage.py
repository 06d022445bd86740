"""Comparing related runs: a fork against its parent, a replay against its original."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from societas.analysis._scalars import number
from societas.analysis.load import events, manifest

_CONTENT = ["sim", "seq", "step", "phase", "kind", "actor", "target", "data"]


def parent_of(run_dir: str | os.PathLike[str]) -> Path | None:
    """The parent run directory a fork names in its manifest (None for a root run)."""
    parent = manifest(run_dir).get("parent")
    return Path(parent["run_dir"]) if parent else None


def compare(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> pl.DataFrame:
    """Per simulation and step: events in each run and whether they are the same events."""
    left = events(a).select(_CONTENT).collect()
    right = events(b).select(_CONTENT).collect()

    def per_step(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.sort("sim", "seq").group_by("sim", "step", maintain_order=True).agg(
            pl.len().alias(f"events_{name}"),
            pl.concat_str(pl.exclude("sim", "step").cast(pl.String).fill_null(""),
                          separator="\x1f").implode().alias(f"rows_{name}"),
        )

    joined = per_step(left, "a").join(per_step(right, "b"), on=["sim", "step"], how="full",
                                      coalesce=True, maintain_order="left_right")
    return joined.with_columns(
        (pl.col("rows_a") == pl.col("rows_b")).fill_null(False).alias("same"),
        pl.col("events_a").fill_null(0), pl.col("events_b").fill_null(0),
    ).drop("rows_a", "rows_b").sort("sim", "step")


def first_divergent_step(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> int | None:
    """The earliest step (over all simulations) whose events differ; None when identical."""
    diff = compare(a, b).filter(~pl.col("same"))
    return None if diff.is_empty() else int(number(diff["step"].min()))


def describe_lineage(run_dir: str | os.PathLike[str]) -> str:
    """A run's ancestry in one line: ``child ← parent (fork at step k, overrides)``."""
    parts = []
    current: Path | None = Path(run_dir)
    while current is not None:
        info = manifest(current)
        parent = info.get("parent")
        label = info["run_id"]
        if parent:
            label += f" (fork at step {parent['fork_step']}: {json.dumps(parent['overrides'])})"
        parts.append(label)
        current = Path(parent["run_dir"]) if parent else None
    return " ← ".join(parts)

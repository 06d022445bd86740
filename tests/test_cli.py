"""The README's commands, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("societas")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "120"})


def test_societas_run_writes_a_run_directory_that_polars_reads(tmp_path):
    done = societas("run", "scenario=donor_game", "backend=scripted", "seed=3",
                    "scenario.generations=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    run_dir = runs[0]
    assert str(run_dir.name) in done.stdout and "average final resources" in done.stdout
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["config"]["seed"] == 3
    assert manifest["versions"]["python"]
    ev = pl.scan_parquet(run_dir / "events" / "*.parquet").collect()
    assert ev.height == manifest["counts"]["event_rows"] > 0
    assert set(ev["kind"]) >= {"donated", "scored", "strategy_chosen", "outcome"}
    cl = pl.scan_parquet(run_dir / "calls" / "*.parquet").collect()
    assert cl.height == manifest["counts"]["call_rows"] == manifest["counts"]["decisions"]

    shown = societas("show", str(run_dir), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "completed" in shown.stdout and "mean donation fraction" in shown.stdout


def test_show_on_a_folder_that_is_not_a_run(tmp_path):
    done = societas("show", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "not a run directory" in done.stderr

"""Sweeps on Ray (one local 2-CPU Ray for the session): the dataset, reruns, a killed worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import polars as pl

from societas import simulator
from societas.simulator.backends.ray_replicas import options_from
from societas.simulator.sweep import sweep

SMALL = ["scenario=donor_game", "scenario.generations=2", "scenario.rounds=4"]


def test_a_2x3_sweep_on_ray_is_one_hive_dataset_and_a_rerun_starts_nothing(ray_cluster,
                                                                            tmp_path):
    overrides = [*SMALL, f"out_dir={tmp_path}", "population.strategy=always_zero,discriminator",
                 "seed=range(3)"]
    result = sweep(overrides, ray="auto", progress=False)
    assert ray_cluster.is_initialized()  # the sweep joined the session's Ray, left it running
    assert sorted(r.status for r in result.runs) == ["completed"] * 6

    events = pl.scan_parquet(str(tmp_path / "sweep" / "**" / "events" / "*.parquet"),
                             hive_partitioning=True).collect()
    assert {"scenario", "population.strategy", "seed"} <= set(events.columns)
    runs = events.select("run_id", "scenario", "population.strategy", "seed").unique()
    assert runs.height == 6 and runs["run_id"].n_unique() == 6
    assert events.schema["seed"] == pl.Int64
    assert set(runs["scenario"]) == {"donor_game"}
    grid = set(runs.select("population.strategy", "seed").iter_rows())
    assert grid == {(s, n) for s in ("always_zero", "discriminator") for n in range(3)}
    donated = events.filter(pl.col("kind") == "donated")
    zero = donated.filter(pl.col("population.strategy") == "always_zero")
    assert zero.height > 0 and zero["data"].str.contains('"amount":0.0').all()

    messages: list[dict] = []
    again = sweep(overrides, ray="auto", progress=False, on_message=messages.append)
    assert again.played == []
    assert [r.status for r in again.runs] == ["skipped"] * 6
    assert not [m for m in messages if m["type"] == "started"]


def test_a_killed_worker_is_retried_and_the_logs_match_runs_without_the_kill(ray_cluster,
                                                                            tmp_path):
    # Runs long enough (a few seconds) that the kill lands while the simulation plays.
    overrides = ["scenario=donor_game", "simulations=24", "chunk_rows=1000",
                 f"out_dir={tmp_path}", "seed=11,12"]
    killed: list[int] = []

    def kill_first_worker(message: dict) -> None:
        if message["type"] == "started" and not killed:
            killed.append(message["pid"])
            os.kill(message["pid"], signal.SIGKILL)

    result = sweep(overrides, ray="auto", runs_per_task=1, retries=2, progress=False,
                   on_message=kill_first_worker)
    assert killed, "no run started"
    assert [r.status for r in result.runs] == ["completed", "completed"]
    assert max(r.attempts for r in result.runs) == 2  # the killed run was started again
    for run in result.runs:
        seed = int(run.partition["seed"])
        plain = simulator.run({"scenario": {"name": "donor_game"}, "simulations": 24,
                               "seed": seed, "out_dir": str(tmp_path / "plain"),
                               "progress": False})
        assert simulator.content_hash(run.run_dir) == simulator.content_hash(plain.run_dir)
        assert simulator.content_hash(run.run_dir, "calls") == simulator.content_hash(
            plain.run_dir, "calls")
        assert simulator.read_manifest(run.run_dir)["status"] == "completed"
        assert not list(Path(run.run_dir).rglob(".*.tmp"))


def test_sweep_tasks_share_replicas_started_by_the_driver(ray_cluster, tmp_path):
    overrides = [*SMALL, f"out_dir={tmp_path}", "backend=ray_replicas", "backend.num_cpus=0",
                 "backend.top_p=0.93", "seed=4,5,6"]
    result = sweep(overrides, ray="auto", runs_per_task=3, progress=False)
    assert [r.status for r in result.runs] == ["completed"] * 3
    for run in result.runs:
        manifest = simulator.read_manifest(run.run_dir)
        assert manifest["backend"]["model"]["name"] == "ray_replicas"
        assert manifest["backend_stats"]["model"]["requests"] == manifest["counts"]["requests"]
        plain = simulator.run({**manifest["config"], "out_dir": str(tmp_path / "plain"),
                               "backend": {"name": "ray_replicas", "num_cpus": 0}})
        assert simulator.content_hash(run.run_dir) == simulator.content_hash(plain.run_dir)
    held = set(options_from(simulator.read_manifest(result.runs[0].run_dir)["config"]["backend"])
               [0].actor_names())
    assert held
    for _ in range(50):  # the driver stops the replicas it started (ray.kill is asynchronous)
        alive = {a["name"] for a in ray_cluster.util.list_named_actors(all_namespaces=True)}
        if not held & alive:
            break
        time.sleep(0.1)
    assert not held & alive

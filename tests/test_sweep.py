"""Sweeps without Ray: expansion, layout, skip/redo on rerun, failures, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest

from societas import simulator
from societas.scenarios.donor_game.rules import DonorGame, DonorGameConfig
from societas.simulator import ConfigError
from societas.simulator.backends import Backend, register_backend
from societas.simulator.scenario import Event, Sim, register_scenario
from societas.simulator.sweep import expand, sweep
from societas.simulator.sweep._driver import auto_runs_per_task, make_tasks
from societas.simulator.sweep._group import RunJob

SMALL = ["scenario=donor_game", "scenario.generations=2", "scenario.rounds=4"]


def out(tmp_path: Path) -> str:
    return f"out_dir={tmp_path / 'runs'}"


def test_expand_is_hydras_cartesian_product_with_partitions_in_command_order():
    expansion = expand([*SMALL, "seed=range(3)", "population.strategy=always_zero,discriminator"])
    assert expansion.swept == ("seed", "population.strategy")
    assert expansion.partition_keys == ("scenario", "seed", "population.strategy")
    assert len(expansion.runs) == 6
    points = [(r.partition["seed"], r.partition["population.strategy"]) for r in expansion.runs]
    assert points == [(s, p) for s in ("0", "1", "2") for p in ("always_zero", "discriminator")]
    first = expansion.runs[0]
    assert first.config["seed"] == 0 and first.config["population"]["strategy"] == "always_zero"
    assert first.config["scenario"]["generations"] == 2  # fixed overrides apply to every run
    assert len({r.key for r in expansion.runs}) == 6


def test_expand_takes_choice_and_float_ranges_and_keeps_values_readable():
    expansion = expand([*SMALL, "scenario.multiplier=choice(1.5,3)",
                        "scenario.pairing=alternating,notebook"])
    values = [(r.partition["scenario.multiplier"], r.partition["scenario.pairing"])
              for r in expansion.runs]
    assert values == [("1.5", "alternating"), ("1.5", "notebook"), ("3", "alternating"),
                      ("3", "notebook")]
    assert expansion.runs[2].config["scenario"]["multiplier"] == 3


def test_expansion_composes_each_run_exactly_as_hydra_compose_does():
    from societas.simulator._compose import compose_config

    expansion = expand([*SMALL, "seed=1,2", "backend=scripted,ray_replicas", "~graph",
                        "population.size=10,12",
                        "+scenario.extra=x"])
    assert len(expansion.runs) == 8
    for spec in expansion.runs:
        assert spec.config == compose_config(spec.overrides)
    assert {s.config["backend"]["name"] for s in expansion.runs} == {"scripted", "ray_replicas"}


@pytest.mark.parametrize(("overrides", "message"), [
    (["run_id=a,b"], "run_id: set by the sweep"),
    (["out_dir=a,b"], "out_dir: cannot be swept"),
    (["+phase=a,b"], "phase: cannot be a partition column"),
    (["seed=range(2"], "seed=range(2"),
])
def test_expand_rejects_what_a_sweep_cannot_do_in_one_line(overrides, message):
    with pytest.raises(ConfigError) as caught:
        expand([*SMALL, *overrides])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_value_in_one_run_stops_the_sweep_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError) as caught:
        sweep([*SMALL, out(tmp_path), "scenario.rounds=4,-1"], workers=0, progress=False)
    text = str(caught.value)
    assert "scenario.rounds" in text and "scenario.rounds=-1" in text  # names the run
    assert not (tmp_path / "runs").exists()


def test_replicas_in_a_pool_sweep_are_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="ray_replicas in a sweep needs --ray"):
        sweep([*SMALL, out(tmp_path), "backend=ray_replicas", "seed=1,2"], workers=2,
              progress=False)


def test_tasks_group_runs_that_share_a_backend_config():
    jobs = [RunJob(f"r{i}", f"/x/r{i}", {"backend": {"name": "scripted", "temperature": t}})
            for i, t in enumerate([0.1, 0.1, 0.1, 0.7, 0.7])]
    tasks = make_tasks(jobs, runs_per_task=2)
    assert [[j.run_id for j in t.jobs] for t in tasks] == [["r0", "r1"], ["r2"], ["r3", "r4"]]
    assert [t.index for t in tasks] == [0, 1, 2]
    assert auto_runs_per_task(32, 2) == 4 and auto_runs_per_task(3, 8) == 1
    assert auto_runs_per_task(10_000, 2) == 16


def test_sweep_in_process_writes_one_hive_dataset_and_a_rerun_skips_everything(tmp_path):
    overrides = [*SMALL, out(tmp_path), "seed=range(2)", "population.strategy=random,always_all"]
    first = sweep(overrides, workers=0, progress=False)
    assert [r.status for r in first.runs] == ["completed"] * 4
    assert first.root == tmp_path / "runs" / "sweep" / first.name
    events = pl.scan_parquet(first.glob, hive_partitioning=True).collect()
    assert {"scenario", "seed", "population.strategy"} <= set(events.columns)
    assert events["run_id"].n_unique() == 4
    per_run = events.group_by("seed", "population.strategy").agg(pl.col("run_id").n_unique())
    assert per_run.height == 4 and per_run["run_id"].to_list() == [1, 1, 1, 1]
    for run in first.runs:  # each run's log is exactly the plain run with the same config
        manifest = simulator.read_manifest(run.run_dir)
        assert manifest["status"] == "completed"
        assert manifest["config"]["seed"] == int(run.partition["seed"])

    messages: list[dict] = []
    again = sweep(overrides, workers=0, progress=False, on_message=messages.append)
    assert [r.status for r in again.runs] == ["skipped"] * 4
    assert again.played == [] and not [m for m in messages if m["type"] == "started"]


def test_sweep_runs_are_the_runs_societas_run_would_make(tmp_path):
    result = sweep([*SMALL, out(tmp_path), "seed=3,4"], workers=0, progress=False)
    for run in result.runs:
        seed = int(run.partition["seed"])
        plain = simulator.run({"scenario": {"name": "donor_game", "generations": 2, "rounds": 4},
                               "seed": seed, "out_dir": str(tmp_path / "plain"),
                               "progress": False})
        assert simulator.content_hash(run.run_dir) == simulator.content_hash(plain.run_dir)


def test_an_interrupted_run_is_redone_and_ends_identical(tmp_path):
    overrides = [*SMALL, out(tmp_path), "seed=range(3)", "chunk_rows=20"]
    first = sweep(overrides, workers=0, progress=False)
    hashes = {r.run_id: simulator.content_hash(r.run_dir) for r in first.runs}
    victim = first.runs[1].run_dir  # make it look killed mid-run: status running, and only
    chunks = sorted((victim / "events").glob("part-*.parquet"))  # the first half written
    for chunk in chunks[len(chunks) // 2:]:
        chunk.unlink()
    manifest = json.loads((victim / "manifest.json").read_text())
    kept = {**manifest["chunks"], "events": manifest["chunks"]["events"][: len(chunks) // 2]}
    (victim / "manifest.json").write_text(json.dumps({**manifest, "status": "running",
                                                      "chunks": kept}))

    again = sweep(overrides, workers=0, progress=False)
    assert [r.status for r in again.runs] == ["skipped", "completed", "skipped"]
    assert again.runs[1].attempts == 1
    assert {r.run_id: simulator.content_hash(r.run_dir) for r in again.runs} == hashes
    resumed = json.loads((victim / "manifest.json").read_text())
    assert resumed["resumes"][0]["status_before"] == "running"  # resumed, not restarted
    assert resumed["counts"]["replayed"] > 0


class Exploded(Event):
    kind: ClassVar[str] = "exploded"


class ExplodingGame(DonorGame):
    """The donor game, except that it raises when `explode` is set (a failing run)."""

    name = "exploding_donor_game"
    events = (*DonorGame.events, Exploded)

    class Config(DonorGameConfig):
        explode: bool = False

    async def run(self, sim: Sim):
        if self.config.explode:
            sim.emit(Exploded(actor="a00"))
            raise RuntimeError("the test scenario exploded on purpose")
        return await super().run(sim)


def test_a_failing_run_is_recorded_with_its_traceback_and_the_sweep_goes_on(tmp_path):
    register_scenario(ExplodingGame)
    overrides = [*SMALL, out(tmp_path), "scenario.name=exploding_donor_game",
                 "+scenario.explode=false,true", "seed=1,2"]
    result = sweep(overrides, workers=0, runs_per_task=4, progress=False)
    by_state = {(r.partition["scenario.explode"], r.partition["seed"]): r for r in result.runs}
    assert [by_state[("false", s)].status for s in "12"] == ["completed", "completed"]
    for seed in "12":
        failed = by_state[("true", seed)]
        assert failed.status == "failed"
        assert "exploded on purpose" in failed.error
        manifest = simulator.read_manifest(failed.run_dir)
        assert manifest["status"] == "failed"
        assert "RuntimeError" in manifest["error"]["traceback"]
    assert len(result.failed) == 2

    again = sweep(overrides, workers=0, progress=False)  # failed runs are tried again
    assert sorted(r.status for r in again.runs) == ["failed", "failed", "skipped", "skipped"]


def test_a_sweep_cannot_change_its_partition_columns(tmp_path):
    sweep([*SMALL, out(tmp_path), "seed=1,2"], name="grow", workers=0, progress=False)
    grown = sweep([*SMALL, out(tmp_path), "seed=1,2,3"], name="grow", workers=0, progress=False)
    assert [r.status for r in grown.runs] == ["skipped", "skipped", "completed"]
    with pytest.raises(ConfigError, match="partitioned by"):
        sweep([*SMALL, out(tmp_path), "seed=1,2", "scenario.rounds=3,4"], name="grow",
              workers=0, progress=False)


@pytest.mark.subprocess  # workers=2: a process pool
def test_sweep_on_a_local_process_pool(tmp_path):
    result = sweep([*SMALL, out(tmp_path), "seed=range(4)"], workers=2, runs_per_task=1,
                   progress=False)
    assert [r.status for r in result.runs] == ["completed"] * 4
    run_ids = {simulator.read_manifest(r.run_dir)["run_id"] for r in result.runs}
    assert run_ids == {r.run_id for r in result.runs} and len(run_ids) == 4
    events = pl.scan_parquet(result.glob, hive_partitioning=True).collect()
    assert sorted(events["seed"].unique().to_list()) == [0, 1, 2, 3]


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("societas")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})


def test_cli_sweep_runs_and_reruns(tmp_path):
    args = ["sweep", *SMALL, "seed=range(2)", "--workers", "0", "--name", "cli",
            "population.strategy=random,always_zero", "--no-progress"]
    done = societas(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 completed now" in done.stdout
    assert "scenario / seed / population.strategy" in done.stdout
    root = tmp_path / "runs" / "sweep" / "cli"
    assert len(list(root.rglob("manifest.json"))) == 4
    again = societas(*args, cwd=tmp_path)
    assert again.returncode == 0 and "4 already completed" in again.stdout


def test_cli_sweep_errors_are_one_line(tmp_path):
    done = societas("sweep", *SMALL, "population.size=12,7", "--workers", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "population.size" in done.stderr
    bad_name = societas("sweep", *SMALL, "--name", "../up", "--workers", "0", cwd=tmp_path)
    assert bad_name.returncode == 2 and "--name" in bad_name.stderr


def test_the_sweep_command_and_package_import_no_ray():
    code = ("import sys, societas.simulator.cli, societas.simulator.sweep, "
            "societas.simulator.backends.ray_replicas; societas.simulator.cli.build_parser(); "
            "print([m for m in ('ray', 'vllm', 'torch') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


class BrokenBackend(Backend):
    name = "broken_for_test"

    async def open(self) -> None:
        raise RuntimeError("no GPU on this node")


def test_a_backend_that_cannot_open_fails_the_tasks_runs_with_a_manifest_each(tmp_path):
    register_backend("broken_for_test", lambda config: BrokenBackend())
    result = sweep([*SMALL, out(tmp_path), "backend.name=broken_for_test", "seed=1,2"],
                   workers=0, progress=False)
    assert [r.status for r in result.runs] == ["failed", "failed"]
    for run in result.runs:
        assert run.error == "RuntimeError: no GPU on this node"
        manifest = simulator.read_manifest(run.run_dir)
        assert manifest["status"] == "failed" and "no GPU" in manifest["error"]["traceback"]


@pytest.mark.slow  # about 20 s on 2 cores
@pytest.mark.subprocess  # workers=2: a process pool
def test_a_killed_pool_worker_is_replaced_and_its_runs_replayed(tmp_path):
    overrides = ["scenario=donor_game", "simulations=24", out(tmp_path), "seed=21,22"]
    killed: list[int] = []

    def kill_first_worker(message: dict) -> None:
        if message["type"] == "started" and not killed:
            killed.append(message["pid"])
            os.kill(message["pid"], signal.SIGKILL)

    result = sweep(overrides, workers=2, runs_per_task=1, progress=False,
                   on_message=kill_first_worker)
    assert killed and [r.status for r in result.runs] == ["completed", "completed"]
    assert max(r.attempts for r in result.runs) == 2
    for run in result.runs:
        plain = simulator.run({"scenario": {"name": "donor_game"}, "simulations": 24,
                               "seed": int(run.partition["seed"]),
                               "out_dir": str(tmp_path / "plain"), "progress": False})
        assert simulator.content_hash(run.run_dir) == simulator.content_hash(plain.run_dir)

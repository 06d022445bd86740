"""The sweep driver: expand, skip what is done, group into tasks, run them, tally the outcome."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from societas.simulator._errors import ConfigError
from societas.simulator.sweep._executors import Executor, InlineExecutor, PoolExecutor
from societas.simulator.sweep._expand import Expansion, expand
from societas.simulator.sweep._group import GroupTask, RunJob, RunReport, _from_manifest
from societas.simulator.sweep._layout import RunPlace, RunState, place, run_state, sweep_dir
from societas.simulator.sweep._layout import write_sweep_file as _write_sweep_file
from societas.simulator.sweep._progress import SweepTally, show

POLL_S = 0.2


@dataclass(frozen=True)
class SweepRun:
    """One run of a finished sweep."""

    run_id: str
    run_dir: Path
    partition: dict[str, str]
    status: str
    """``completed`` (now), ``skipped`` (completed before), or ``failed``."""
    error: str | None = None
    attempts: int = 0
    """How many times this invocation started the run (2 after a killed worker's retry)."""


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: every run's status, and where the dataset is."""

    name: str
    root: Path
    partition_keys: tuple[str, ...]
    runs: list[SweepRun]
    wall_s: float

    @property
    def played(self) -> list[SweepRun]:
        """Runs started by this invocation (completed or failed)."""
        return [r for r in self.runs if r.status != "skipped"]

    @property
    def failed(self) -> list[SweepRun]:
        """Runs that failed."""
        return [r for r in self.runs if r.status == "failed"]

    @property
    def glob(self) -> str:
        """The pattern that reads every run's events as one hive-partitioned dataset."""
        return str(self.root / "**" / "events" / "*.parquet")


def sweep(overrides: Sequence[str], *, name: str | None = None, ray: str | None = None,
          workers: int | None = None, runs_per_task: int | None = None, retries: int = 2,
          progress: bool = True,
          on_message: Callable[[dict[str, Any]], None] | None = None) -> SweepResult:
    """Run every point of a Hydra sweep (``seed='range(10)' population.strategy=a,b``).

    Args:
        overrides: Hydra overrides; comma lists, ``range()``, ``choice()`` and ``glob()`` sweep.
        name: the sweep's directory under ``<out_dir>/sweep/``; default from the overrides, so
            rerunning the same command finds the same sweep and skips its completed runs.
        ray: None runs locally (process pool); ``"auto"`` starts (or joins) a local Ray;
            anything else is the address of a Ray cluster.
        workers: local processes without Ray (default: this machine's cores; 0 runs in-process).
        runs_per_task: runs played together in one task, sharing one backend (default: enough
            tasks for about four per worker, at most 16 runs each).
        retries: times a task is retried when its worker dies.
        progress: show a live progress bar on stderr.
        on_message: called with every progress message (``started`` carries the worker pid).
    """
    started = time.perf_counter()
    expansion = expand(overrides)
    name = name or default_name(expansion)
    out_dir = str(expansion.runs[0].config.get("out_dir", "runs"))
    root = sweep_dir(out_dir, name)
    places = [place(root, name, spec) for spec in expansion.runs]
    jobs = [_job(p) for p in places]
    _validate(jobs, places)
    _write_sweep_file(root, name, expansion)
    tally = SweepTally(total=len(jobs))
    todo = []
    for job in jobs:
        if run_state(Path(job.run_dir)) is RunState.COMPLETED:
            tally.record(_from_manifest(job, "skipped"))
        else:
            todo.append(job)
    _check_replicas_placement(todo, ray, workers)
    executor = _executor(ray, workers, retries) if todo else InlineExecutor()  # all done: no Ray
    try:
        tasks = make_tasks(todo, runs_per_task or auto_runs_per_task(len(todo), executor.slots))
        with _replicas_for(todo, ray is not None), show(tally, f"sweep {name}", progress) as tick:
            _drive(executor, tasks, tally, tick, on_message)
    finally:
        executor.close()
    runs = [_outcome(p, tally) for p in places]
    return SweepResult(name, root, expansion.partition_keys, runs, time.perf_counter() - started)


def default_name(expansion: Expansion) -> str:
    """``<scenario>-<digest of the overrides>``: the same command finds the same sweep."""
    scenarios = {spec.partition["scenario"] for spec in expansion.runs}
    label = scenarios.pop() if len(scenarios) == 1 else "sweep"
    digest = hashlib.blake2b("\n".join(expansion.overrides).encode(), digest_size=4)
    return f"{label}-{digest.hexdigest()}"


def make_tasks(jobs: list[RunJob], runs_per_task: int) -> list[GroupTask]:
    """Chunk runs into tasks; runs in one task share a backend, so they share its config."""
    by_backend: dict[str, list[RunJob]] = {}
    for job in jobs:
        key = json.dumps(job.config.get("backend", {}), sort_keys=True, default=str)
        by_backend.setdefault(key, []).append(job)
    tasks: list[GroupTask] = []
    for group in by_backend.values():
        for start in range(0, len(group), runs_per_task):
            tasks.append(GroupTask(len(tasks), tuple(group[start : start + runs_per_task])))
    return tasks


def auto_runs_per_task(runs: int, slots: int) -> int:
    """About four tasks per worker (balance, cheap retries), at most 16 runs per task."""
    return max(1, min(16, math.ceil(runs / (4 * max(slots, 1)))))


def _job(p: RunPlace) -> RunJob:
    config = {**p.spec.config, "out_dir": str(p.run_dir.parent), "run_id": p.run_id,
              "progress": False}
    return RunJob(p.run_id, str(p.run_dir), config)


def _validate(jobs: list[RunJob], places: list[RunPlace]) -> None:
    """Validate every run's config before anything starts; errors name the run's partition."""
    from societas.simulator._setup import plan_run

    for job, p in zip(jobs, places, strict=True):
        try:
            plan_run(job.config)
        except ConfigError as err:
            raise ConfigError("", f"{err} (in the run {p.partition_path})") from None


def _executor(ray: str | None, workers: int | None, retries: int) -> Executor:
    if ray is not None:
        from societas.simulator.sweep._ray import RayExecutor

        return RayExecutor(ray, retries=retries)
    count = (os.cpu_count() or 1) if workers is None else workers
    if count < 0:
        raise ConfigError("--workers", f"must be 0 (in-process) or more, got {count}")
    return InlineExecutor() if count == 0 else PoolExecutor(count, retries=retries)


def _drive(executor: Executor, tasks: list[GroupTask], tally: SweepTally,
           tick: Callable[[], None],
           on_message: Callable[[dict[str, Any]], None] | None) -> None:
    for task in tasks:
        executor.submit(task)
    pending = len(tasks)
    while pending:
        for task, outcome in executor.poll(POLL_S):
            pending -= 1
            if isinstance(outcome, BaseException):
                _task_lost(task, outcome, tally)
            else:
                for report in outcome:
                    tally.record(report)
        for message in executor.messages():
            tally.take(message)
            if on_message is not None:
                on_message(message)
        tick()


def _task_lost(task: GroupTask, error: BaseException, tally: SweepTally) -> None:
    """A task that could not finish (retries exhausted): its unfinished runs count as failed."""
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    for job in task.jobs:
        if job.run_id not in tally.finished or tally.finished[job.run_id].status == "failed":
            tally.record(RunReport(job.run_id, "failed", error=f"task lost: {text}"))


def _outcome(p: RunPlace, tally: SweepTally) -> SweepRun:
    report = tally.finished.get(p.run_id)
    status = report.status if report else "failed"
    error = report.error if report else "never reported (interrupted?)"
    return SweepRun(p.run_id, p.run_dir, dict(p.spec.partition), status, error,
                    tally.attempts.get(p.run_id, 0))


def _check_replicas_placement(jobs: list[RunJob], ray: str | None, workers: int | None) -> None:
    """Replicas are shared through one Ray; separate pool processes would each start their own."""
    uses_replicas = any(job.config.get("backend", {}).get("name") == "ray_replicas"
                        for job in jobs)
    if uses_replicas and ray is None and workers != 0:
        raise ConfigError("backend.name", "ray_replicas in a sweep needs --ray (auto or a "
                          "cluster address), or --workers 0: each pool process would start a "
                          "Ray and replicas of its own")


def _replicas_for(jobs: list[RunJob], on_ray: bool) -> Any:
    """Start shared inference replicas from the driver (so they outlive any one task)."""
    import contextlib

    configs = {json.dumps(job.config["backend"], sort_keys=True): job.config["backend"]
               for job in jobs if job.config.get("backend", {}).get("name") == "ray_replicas"}
    if not (configs and on_ray):
        return contextlib.nullcontext()
    from societas.simulator.backends.ray_replicas import hold_replicas

    return hold_replicas(list(configs.values()))

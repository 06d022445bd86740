"""One sweep task: a group of runs played in one process, sharing one model backend.

Runs that ask a model are played concurrently, so that the shared backend batches requests
across all their simulations; scripted-only runs have nothing to share and are played one after
another (eight concurrent 16-game runs in one process measured about 20% slower than the same
runs in turn).

This is what a Ray task (or a process-pool worker) executes. Runs already completed on disk are
skipped, so a retried task (its worker was killed) only redoes what did not finish. A run that
raises is recorded as failed (its manifest holds the traceback) and the others carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from societas.simulator._clock import now_utc
from societas.simulator._log import write_json_atomic
from societas.simulator._signals import run as run_interruptibly
from societas.simulator.backends._base import Backend
from societas.simulator.sweep._layout import RunState, run_state
from societas.simulator.sweep._shared import view_of

Report = Callable[[dict[str, Any]], None]
"""Where a task sends progress messages (``{"type": "started" | "finished" | "tokens", ...}``)."""


@dataclass(frozen=True)
class RunJob:
    """One run to play: its id, directory and complete config (plain data, picklable)."""

    run_id: str
    run_dir: str
    config: dict[str, Any]


@dataclass(frozen=True)
class GroupTask:
    """Runs executed together by one worker, sharing one backend."""

    index: int
    jobs: tuple[RunJob, ...]


@dataclass
class RunReport:
    """What became of one run in one task."""

    run_id: str
    status: str
    """``completed``, ``failed`` or ``skipped`` (already completed before this task)."""
    decisions: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    error: str | None = None
    pid: int = field(default_factory=os.getpid)


def execute_group(task: GroupTask, report: Report) -> list[RunReport]:
    """Play a group of runs to the end (blocking); one report per run, in task order."""
    return run_interruptibly(_execute(task, report))  # workers=0: the CLI's signals


async def _execute(task: GroupTask, report: Report) -> list[RunReport]:
    from societas.simulator._setup import plan_run

    plans = [plan_run(job.config) for job in task.jobs]
    to_play = [run_state(Path(job.run_dir)) is not RunState.COMPLETED for job in task.jobs]
    async with contextlib.AsyncExitStack() as stack:
        shared: Backend | None = None
        if any(plan.uses_model and play for plan, play in zip(plans, to_play, strict=True)):
            try:
                shared = await _open_shared(plans[0].config.backend, stack)
            except Exception as err:  # no model, no run: each run records why
                return [_fail_unstarted(job, err, report) for job in task.jobs]
        views: list[Backend] = []
        ticker = asyncio.get_running_loop().create_task(_tick(views, report))
        try:
            if shared is None:  # scripted only: nothing to batch across runs, one at a time
                return [await _play(job, None, views, report) for job in task.jobs]
            return list(await asyncio.gather(*(  # one model fed by every run's simulations
                _play(job, shared, views, report) for job in task.jobs)))
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            report({"type": "tokens", "pid": os.getpid(), "tokens_out": 0})


async def _open_shared(config: Any, stack: contextlib.AsyncExitStack) -> Backend:
    """Build and open the backend the task's runs share (closed when the task ends)."""
    from societas.simulator._registry import build_backend

    backend = build_backend(config)
    await stack.enter_async_context(backend)
    return backend


def _fail_unstarted(job: RunJob, err: Exception, report: Report) -> RunReport:
    """A run that could not start (its backend failed to open), unless it completed before."""
    if run_state(Path(job.run_dir)) is RunState.COMPLETED:
        result = _from_manifest(job, "skipped")
    else:
        if Path(job.run_dir).exists():
            shutil.rmtree(job.run_dir)
        _ensure_failed_manifest(job, err)
        result = RunReport(job.run_id, "failed", error=_one_line(err))
    report({"type": "finished", "report": result.__dict__})
    return result


def _one_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return text.splitlines()[0] if text else type(err).__name__


async def _play(job: RunJob, shared: Backend | None, views: list[Backend],
                report: Report) -> RunReport:
    from societas.simulator._run import arun

    run_dir = Path(job.run_dir)
    state = run_state(run_dir)
    if state is RunState.COMPLETED:
        done = _from_manifest(job, "skipped")
        report({"type": "finished", "report": done.__dict__})
        return done
    view = view_of(shared) if shared is not None else None
    if view is not None:
        views.append(view)
    report({"type": "started", "run_id": job.run_id, "pid": os.getpid(),
            "redo": state is not RunState.MISSING})
    started = time.perf_counter()
    try:
        if state is RunState.MISSING:
            await arun(job.config, model_backend=view, progress=False)
        else:
            await redo(run_dir, job.config, view)
        result = _from_manifest(job, "completed")
    except Exception as err:
        _ensure_failed_manifest(job, err)
        result = RunReport(job.run_id, "failed", wall_s=time.perf_counter() - started,
                           error=_one_line(err))
    if view is not None:
        views.remove(view)
    report({"type": "finished", "report": result.__dict__})
    return result


async def redo(run_dir: Path, config: dict[str, Any], backend: Backend | None) -> None:
    """Finish a run that was interrupted (or failed) in an earlier attempt.

    The work already logged is kept: `aresume` re-executes the recorded part from the log and
    continues live. A directory killed before its manifest was written is started afresh.
    """
    from societas.simulator._replay import aresume
    from societas.simulator._run import arun

    if (run_dir / "manifest.json").is_file():
        await aresume(run_dir, model_backend=backend, progress=False)
        return
    shutil.rmtree(run_dir)
    await arun(config, model_backend=backend, progress=False)


def _from_manifest(job: RunJob, status: str) -> RunReport:
    manifest = json.loads((Path(job.run_dir) / "manifest.json").read_text())
    counts = manifest.get("counts", {})
    tokens = [s for s in manifest.get("backend_stats", {}).values() if isinstance(s, dict)]
    return RunReport(job.run_id, status, decisions=int(counts.get("decisions", 0)),
                     tokens_in=sum(int(s.get("tokens_in", 0)) for s in tokens),
                     tokens_out=sum(int(s.get("tokens_out", 0)) for s in tokens),
                     wall_s=float(manifest.get("wall_s", 0.0)))


def _ensure_failed_manifest(job: RunJob, err: Exception) -> None:
    """Make sure a failed run has a manifest saying so, even if it failed before writing one."""
    path = Path(job.run_dir) / "manifest.json"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("status") == "failed":
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    config = job.config
    scenario = config.get("scenario", {})
    write_json_atomic(path, {
        "run_id": job.run_id, "scenario": scenario.get("name"), "seed": config.get("seed"),
        "simulations": config.get("simulations"), "status": "failed",
        "ended_at": now_utc().isoformat(), "config": config,
        "error": {"type": type(err).__name__, "message": str(err),
                  "traceback": "".join(traceback.format_exception(err))},
    })


async def _tick(views: list[Backend], report: Report, every_s: float = 1.0) -> None:
    """Report the tokens generated so far by the running runs, every `every_s` seconds."""
    while True:
        await asyncio.sleep(every_s)
        live = [view.stats() for view in views]
        report({"type": "tokens", "pid": os.getpid(),
                "tokens_out": sum(int(s.get("tokens_out", 0)) for s in live)})

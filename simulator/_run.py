"""The front door: `run(config)` plays a whole run and writes its directory."""

from __future__ import annotations

import asyncio
import contextlib
import platform
import secrets
import subprocess
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from societas.simulator._clock import now_utc
from societas.simulator._config import RunConfig
from societas.simulator._engine import MODEL, REPLAY, SCRIPTED, Counters, Engine, SimSetup
from societas.simulator._events import Outcome
from societas.simulator._history import History, ResumeSink
from societas.simulator._lock import RunLock
from societas.simulator._lock import acquire as acquire_lock
from societas.simulator._log import RunLog
from societas.simulator._progress import show_progress
from societas.simulator._registry import build_backend
from societas.simulator._requests import Sampling
from societas.simulator._rows import LogSink
from societas.simulator._scenario import Scenario
from societas.simulator._seeding import derive_rng, derive_seed
from societas.simulator._setup import RunPlan, build_population, memory_limits, plan_run
from societas.simulator._signals import run as run_interruptibly
from societas.simulator._sim import Host, Sim
from societas.simulator._strategies import StrategyHandler
from societas.simulator.backends import Backend, ScriptedBackend
from societas.simulator.backends.replay import ReplayBackend
from societas.simulator.graph import build_graph

_VERSIONED = ("societas", "numpy", "pydantic", "pyarrow", "networkx", "hydra-core", "vllm",
              "torch", "transformers", "ray")


@dataclass
class RunResult:
    """What a finished run returns."""

    run_id: str
    run_dir: Path
    outcomes: list[Outcome]
    counters: Counters
    batch_sizes: dict[str, list[int]]
    wall_s: float


def run(config: RunConfig | Mapping[str, Any], *, model_backend: Backend | None = None,
        progress: bool | None = None) -> RunResult:
    """Play a run: ``config.simulations`` simulations, batched together, logged to disk.

    Pass all seeds' simulations in one run (``simulations=64``) rather than 64 runs: requests
    are batched across every simulation alive at once. The config is validated completely before
    anything starts. `model_backend` overrides the configured backend (tests, notebooks).
    """
    return run_interruptibly(arun(config, model_backend=model_backend, progress=progress))


async def arun(config: RunConfig | Mapping[str, Any], *, model_backend: Backend | None = None,
               progress: bool | None = None) -> RunResult:
    """Async form of `run`."""
    plan = plan_run(config)
    run_id = plan.config.run_id or new_run_id(plan.config)
    run_dir = Path(plan.config.out_dir) / run_id
    if run_dir.exists():
        raise FileExistsError(f"{run_dir} already exists; choose another run_id or out_dir")
    return await execute(plan, run_dir, manifest=new_manifest(plan, run_id),
                         model_backend=model_backend, progress=progress)


async def execute(plan: RunPlan, run_dir: Path, *, manifest: dict[str, Any],
                  history: History | None = None, resume: bool = False,
                  model_backend: Backend | None = None, progress: bool | None = None,
                  lock: RunLock | None = None) -> RunResult:
    """Play `plan` into `run_dir`, answering from `history` where it holds the request.

    With `resume`, the directory exists: rows already on disk are verified, not written again.
    A strict history (replay) needs no model backend: every request comes from the record.
    The run directory's `lock` (taken here when None is given) is held until the manifest's
    final write, and released then.
    """
    if lock is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = acquire_lock(run_dir, _command_of(manifest, resume))
    try:
        return await _execute(plan, run_dir, manifest=manifest, history=history, resume=resume,
                              model_backend=model_backend, progress=progress)
    finally:
        lock.release()


def _command_of(manifest: Mapping[str, Any], resume: bool) -> str:
    """The command writing a run directory, as its lock names it."""
    if resume:
        return "resume"
    return "fork" if "parent" in manifest else "replay" if "replay_of" in manifest else "run"


async def _execute(plan: RunPlan, run_dir: Path, *, manifest: dict[str, Any],
                   history: History | None, resume: bool, model_backend: Backend | None,
                   progress: bool | None) -> RunResult:
    cfg = plan.config
    run_id = manifest["run_id"]
    backends: dict[str, Backend] = {
        SCRIPTED: ScriptedBackend(StrategyHandler(plan.policies), max_batch=cfg.backend.max_batch)}
    if plan.uses_model and not (history is not None and history.strict):
        backends[MODEL] = model_backend or build_backend(cfg.backend)
    if history is not None:
        backends[REPLAY] = ReplayBackend(history)
    log = RunLog(run_dir, chunk_rows=cfg.chunk_rows)
    log.open(manifest, existing=resume)
    sink: LogSink = ResumeSink(log, history) if resume and history is not None else log
    started = time.perf_counter()
    engine = Engine(backends=backends, log=sink, seed=cfg.seed, run_id=run_id,
                    max_attempts=cfg.max_attempts, sampling=_sampling(cfg),
                    make_agent=plan.scenario_cls.make_agent, history=history,
                    interventions=cfg.interventions,
                    max_fallback_share=cfg.max_fallback_share)
    status, error, backend_stats = "failed", None, None
    try:
        async with contextlib.AsyncExitStack() as stack:
            for backend in backends.values():
                await stack.enter_async_context(backend)
            log.update_manifest(status="running",
                                backend={k: b.describe() for k, b in backends.items()})
            show = cfg.progress if progress is None else progress
            async with show_progress(engine.counters, cfg.scenario_name, show,
                                     backends[MODEL].stats if MODEL in backends else None):
                outcomes = await engine.run(cfg.simulations, _setup(plan),
                                            concurrency=cfg.concurrency)
            engine.check_budget()  # a run of fallbacks is not data: it ends "failed"
            backend_stats = {k: b.stats() for k, b in backends.items()}
        log.close()  # the last rows are on disk before the run counts as completed
        status = "completed"
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    except BaseException as err:
        error = {"type": type(err).__name__, "message": str(err),
                 "traceback": traceback.format_exc()}
        raise
    finally:
        # Closing here fails only while another error is on its way out (the try block closed
        # the log otherwise): that error goes on, the manifest records both, and always ends.
        flush_error = _close(log)
        if flush_error is not None:
            status, error = "failed", _with_flush_error(error, flush_error)
        log.update_manifest(**_ending(status, error, backend_stats, engine, log, started))
    return RunResult(run_id, run_dir, outcomes, engine.counters, engine.batcher.stats.sizes,
                     time.perf_counter() - started)


def _close(log: RunLog) -> Exception | None:
    """Close `log`; the error writing its last rows, if any, instead of raising it."""
    try:
        log.close()
    except Exception as err:
        return err
    return None


def _with_flush_error(error: dict[str, str] | None, flush_error: Exception) -> dict[str, str]:
    """The manifest's error record, saying the last rows could not all be written."""
    trace = "".join(traceback.format_exception(flush_error))
    if error is None:
        return {"type": type(flush_error).__name__, "message": str(flush_error),
                "traceback": trace}
    return {**error, "message": f"{error['message']}; and the last rows could not all be "
                                f"written: {flush_error}",
            "traceback": f"{error['traceback']}\n{trace}"}


def _ending(status: str, error: dict[str, str] | None, backend_stats: dict[str, Any] | None,
            engine: Engine, log: RunLog, started: float) -> dict[str, Any]:
    """The manifest fields that record how a run ended."""
    return {
        "status": status, "ended_at": now_utc().isoformat(),
        "wall_s": time.perf_counter() - started,
        "counts": {**engine.counters.as_dict(), "event_rows": log.events.rows_on_disk,
                   "call_rows": log.calls.rows_on_disk},
        "batches": {k: _histogram(v) for k, v in engine.batcher.stats.sizes.items()},
        **({"error": error} if error else {}),
        **({"backend_stats": backend_stats} if status == "completed" else {}),
    }


def _setup(plan: RunPlan) -> SimSetup:
    cfg = plan.config
    scenario_cls = plan.scenario_cls

    def setup(index: int, host: Host) -> tuple[Scenario, Sim]:
        agents = build_population(plan, index)
        # Each simulation draws its own graph unless graph.seed pins one for all.
        graph = build_graph(agents.ids, cfg.graph, derive_seed(cfg.seed, "sim", index))
        sim = Sim(host=host, index=index, seed=cfg.seed,
                  rng=derive_rng(cfg.seed, "sim", index), config=plan.scenario_config,
                  agents=agents, graph=graph,
                  memory=memory_limits(scenario_cls, cfg.population.memory),
                  events=scenario_cls.events, questions=scenario_cls.questions)
        return scenario_cls(plan.scenario_config), sim

    return setup


def _sampling(cfg: RunConfig) -> Sampling:
    return Sampling(temperature=cfg.backend.temperature, top_p=cfg.backend.top_p,
                    max_tokens=cfg.backend.max_tokens)


def new_run_id(cfg: RunConfig) -> str:
    """A fresh run id: scenario, seed, UTC time and a random suffix."""
    stamp = now_utc().strftime("%Y%m%dT%H%M%S")
    return f"{cfg.scenario_name}-s{cfg.seed}-{stamp}-{secrets.token_hex(2)}"


def _histogram(sizes: list[int]) -> dict[str, int]:
    counts: dict[int, int] = {}
    for size in sizes:
        counts[size] = counts.get(size, 0) + 1
    return {str(size): counts[size] for size in sorted(counts)}


def new_manifest(plan: RunPlan, run_id: str) -> dict[str, Any]:
    """The manifest of a run about to start."""
    cfg = plan.config
    return {
        "run_id": run_id,
        "scenario": cfg.scenario_name,
        "seed": cfg.seed,
        "simulations": cfg.simulations,
        "status": "running",
        "started_at": now_utc().isoformat(),
        "config": cfg.model_dump(mode="json"),
        "scenario_config": plan.scenario_config.model_dump(mode="json"),
        "policies": sorted(plan.policies) + (["model"] if plan.uses_model else []),
        "versions": _versions(),
        "git": _git_commit(),
    }


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _git_commit() -> dict[str, Any] | None:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain"], check=True,
                               capture_output=True, text=True, timeout=5).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}

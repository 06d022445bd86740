"""Replay, resume and fork: re-execute a run from its log, then stop or continue live."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from societas.simulator._check import verify_chunks
from societas.simulator._clock import now_utc
from societas.simulator._history import History
from societas.simulator._lock import acquire as acquire_lock
from societas.simulator._log import content_hash, read_manifest, read_rows
from societas.simulator._overrides import apply_overrides
from societas.simulator._rows import EventRow, event_content, event_key
from societas.simulator._run import RunResult, execute, new_manifest
from societas.simulator._setup import plan_run
from societas.simulator._signals import run as run_interruptibly
from societas.simulator._trust import check_trust, confirm_resume, override_keys
from societas.simulator.backends import Backend

PathLike = str | os.PathLike[str]


@dataclass
class ReplayReport:
    """The outcome of re-executing a run offline from its recorded answers."""

    run_dir: Path
    replay_dir: Path | None
    identical: bool
    recorded_hash: str
    replayed_hash: str
    calls_identical: bool
    first_difference: str | None
    wall_s: float


def replay(run_dir: PathLike, *, out_dir: PathLike | None = None,
           progress: bool = False) -> ReplayReport:
    """Re-execute a completed run from its calls log (no model needed) and compare the events.

    The replay is written under `out_dir` and kept there; without `out_dir` it goes to a
    temporary directory that is removed afterwards.
    """
    return run_interruptibly(areplay(run_dir, out_dir=out_dir, progress=progress))


async def areplay(run_dir: PathLike, *, out_dir: PathLike | None = None,
                  progress: bool = False) -> ReplayReport:
    """Async form of `replay`."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("status") != "completed":
        raise ValueError(f"{run_dir} is {manifest.get('status')!r}; only a completed run can be "
                         "replayed (resume it first: societas resume RUN_DIR)")
    started = time.perf_counter()
    parent = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="replay-"))
    config = {**manifest["config"], "out_dir": str(parent), "progress": progress,
              "run_id": f"{manifest['run_id']}-replay-{secrets.token_hex(2)}"}
    plan = plan_run(config)
    target = parent / config["run_id"]
    history = History.load(run_dir, with_events=False, strict=True)
    try:
        await execute(plan, target, manifest={
            **new_manifest(plan, config["run_id"]),
            "replay_of": {"run_id": manifest["run_id"], "run_dir": str(run_dir)}},
            history=history, progress=progress)
        recorded, replayed = content_hash(run_dir), content_hash(target)
        same_calls = content_hash(run_dir, "calls") == content_hash(target, "calls")
        difference = None if recorded == replayed else first_difference(run_dir, target)
    finally:
        if out_dir is None:
            shutil.rmtree(parent, ignore_errors=True)
    return ReplayReport(run_dir, target if out_dir is not None else None, recorded == replayed,
                        recorded, replayed, same_calls, difference,
                        time.perf_counter() - started)


def resume(run_dir: PathLike, *, model_backend: Backend | None = None,
           progress: bool | None = None, trust_manifest: bool = False,
           backend_overrides: Mapping[str, Any] | None = None) -> RunResult | None:
    """Continue an interrupted or crashed run in place; None when it had already completed.

    The recorded part is re-executed from the log (no model calls, rows on disk are checked,
    not rewritten), then the run continues live with its original config. The manifest's
    endpoints and ``api_key_env`` are used only when confirmed: given in `backend_overrides`
    (``{"base_url": URL}``, which also replaces them), or `trust_manifest`, or a
    `model_backend` of the caller's own; otherwise `UntrustedManifest` (see `_trust`).
    """
    return run_interruptibly(aresume(run_dir, model_backend=model_backend, progress=progress,
                                     trust_manifest=trust_manifest,
                                     backend_overrides=backend_overrides))


async def aresume(run_dir: PathLike, *, model_backend: Backend | None = None,
                  progress: bool | None = None, trust_manifest: bool = False,
                  backend_overrides: Mapping[str, Any] | None = None) -> RunResult | None:
    """Async form of `resume`."""
    run_dir = Path(run_dir)
    read_manifest(run_dir)  # a run directory this code can extend, before locking it
    lock = acquire_lock(run_dir, "resume")  # before reading what to resume: one resumer only
    try:
        manifest = read_manifest(run_dir)  # again: another resumer may have just finished it
        if manifest.get("status") == "completed":
            return None
        manifest["config"] = confirm_resume(run_dir, manifest["config"], backend_overrides,
                                            trusted=trust_manifest or model_backend is not None)
        plan = plan_run(manifest["config"])
        manifest["chunks"] = verify_chunks(run_dir, manifest)  # refuses a gap or a bad chunk
        history = History.load(run_dir)
        manifest["resumes"] = [*manifest.get("resumes", []), {
            "at": now_utc().isoformat(), "status_before": manifest.get("status"),
            "calls_on_disk": len(history.calls), "events_on_disk": len(history.events)}]
        manifest.pop("error", None)
        return await execute(plan, run_dir, manifest=manifest, history=history, resume=True,
                             model_backend=model_backend, progress=progress, lock=lock)
    finally:
        lock.release()  # execute released it after the manifest's final write; harmless


def fork(run_dir: PathLike, *, at: int, overrides: Sequence[str] = (),
         run_id: str | None = None, out_dir: PathLike | None = None,
         allow_prompt_changes: bool = False, model_backend: Backend | None = None,
         progress: bool | None = None, trust_manifest: bool = False) -> RunResult:
    """A new run sharing `run_dir`'s history before step `at`, then live with `overrides`.

    Before `at`, every answer is the recorded one (prompts are checked unless
    `allow_prompt_changes`, for overrides such as a new persona that change earlier prompts);
    from `at` on, the changed config decides. The new manifest names its parent and fork step.
    The parent's endpoints and ``api_key_env`` must be confirmed as for `resume`: by
    `overrides` naming them, `trust_manifest`, or a `model_backend` of the caller's own.
    """
    return run_interruptibly(afork(run_dir, at=at, overrides=overrides, run_id=run_id,
                                   out_dir=out_dir, allow_prompt_changes=allow_prompt_changes,
                                   model_backend=model_backend, progress=progress,
                                   trust_manifest=trust_manifest))


async def afork(run_dir: PathLike, *, at: int, overrides: Sequence[str] = (),
                run_id: str | None = None, out_dir: PathLike | None = None,
                allow_prompt_changes: bool = False, model_backend: Backend | None = None,
                progress: bool | None = None, trust_manifest: bool = False) -> RunResult:
    """Async form of `fork`."""
    run_dir = Path(run_dir)
    parent = read_manifest(run_dir)
    if at < 0:
        raise ValueError(f"the fork step must be >= 0, got {at}")
    config: dict[str, Any] = apply_overrides(parent["config"], overrides)
    if not (trust_manifest or model_backend is not None):
        check_trust(run_dir, parent["config"], config, override_keys(overrides), command="fork")
    config["run_id"] = run_id or f"{parent['run_id']}-fork{at}-{secrets.token_hex(2)}"
    config["out_dir"] = str(out_dir) if out_dir is not None else str(run_dir.parent)
    plan = plan_run(config)
    target = Path(config["out_dir"]) / config["run_id"]
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose another run_id")
    verify_chunks(run_dir, parent)  # a damaged parent is refused, naming the chunk
    history = History.load(run_dir, with_events=False, before_step=at,
                           verify_prompts=not allow_prompt_changes)
    manifest = {**new_manifest(plan, config["run_id"]), "parent": {
        "run_id": parent["run_id"], "run_dir": str(run_dir), "fork_step": at,
        "overrides": list(overrides)}}
    return await execute(plan, target, manifest=manifest, history=history,
                         model_backend=model_backend, progress=progress)


def first_difference(a: PathLike, b: PathLike) -> str | None:
    """The first event (by simulation and sequence) where two runs differ, in words."""
    rows_a, rows_b = _event_rows(a), _event_rows(b)
    for key in sorted(set(rows_a) | set(rows_b)):
        left, right = rows_a.get(key), rows_b.get(key)
        if left is None or right is None or event_content(left) != event_content(right):
            sim, seq = key
            return (f"simulation {sim}, event #{seq}: {_describe(left)} vs {_describe(right)}")
    return None


def _event_rows(run_dir: PathLike) -> dict[tuple[int, int], EventRow]:
    return {event_key(row): row for row in read_rows(run_dir, EventRow)}


def _describe(row: EventRow | None) -> str:
    if row is None:
        return "(missing)"
    return f"step {row.step} {row.phase} {row.kind} {row.actor}→{row.target} {row.data}"

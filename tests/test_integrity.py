"""Run-directory integrity: one writer at a time, chunks verified before resuming, no lost rows.

Real processes throughout: runs killed with SIGKILL, resumes racing on one directory, the
``societas`` console script's exit codes and one-line errors.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from societas import simulator
from societas.simulator import RunDirectoryError, SimulationError, content_hash
from societas.simulator._check import check_run
from societas.simulator._lock import acquire
from societas.simulator._log import RunLog, UnwritableRows, read_rows
from societas.simulator._rows import CallRow, EventRow, call_key
from societas.simulator.backends import ScriptedBackend, register_backend
from tests.conftest import small_run_config

SOCIETAS = str(Path(sys.executable).with_name("societas"))
RUN = ["scenario=donor_game", "backend=scripted", "seed=5", "simulations=16",
       "scenario.generations=8", "chunk_rows=40", "progress=false"]
#: How many times the two-resumer race is run.
RACE_TRIALS = 5
IN_USE = re.compile(r"societas: (?P<dir>\S+) is in use by pid (?P<pid>\d+) on host \S+ "
                    r"\(societas resume, since [0-9T:+-]+\); wait for it to end")


def societas(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SOCIETAS, *args], capture_output=True, text=True, timeout=timeout)


def killed_run(out: Path, run_id: str, chunks: int = 6) -> Path:
    """A `societas run` killed with SIGKILL once `chunks` call chunks are on disk."""
    process = subprocess.Popen([SOCIETAS, "run", *RUN, f"out_dir={out}", f"run_id={run_id}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = out / run_id
    deadline = time.monotonic() + 120
    while len(list((run_dir / "calls").glob("part-*.parquet"))) < chunks:
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline, "the run wrote no chunks"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert simulator.read_manifest(run_dir)["status"] == "running"
    return run_dir


def snapshot(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run directory but its lock file, by relative path."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def edit_manifest(run_dir: Path, **changes) -> None:
    path = run_dir / "manifest.json"
    manifest = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in manifest.items() if v is not None}))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    done = societas("run", *RUN, f"out_dir={out}", "run_id=reference")
    assert done.returncode == 0, done.stderr
    return out / "reference"


@pytest.fixture(scope="module")
def victim(tmp_path_factory) -> Path:
    """One killed run, copied by the tests that damage it."""
    return killed_run(tmp_path_factory.mktemp("victim"), "victim")


# -- the lock --------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("trial", range(RACE_TRIALS))
def test_two_concurrent_resumes_one_is_refused_and_the_log_stays_exact(tmp_path, reference,
                                                                        trial):
    run_dir = killed_run(tmp_path, "raced", chunks=4 + 3 * trial)
    racers = [subprocess.Popen([SOCIETAS, "resume", str(run_dir)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    ends = [(p, *p.communicate(timeout=300)) for p in racers]
    codes = sorted(p.returncode for p, _, _ in ends)
    assert codes == [0, 2], [(p.returncode, err) for p, _, err in ends]
    (winner, _, _), = [e for e in ends if e[0].returncode == 0]
    (_, _, refusal), = [e for e in ends if e[0].returncode == 2]
    lines = refusal.strip().splitlines()
    assert len(lines) == 1 and (found := IN_USE.fullmatch(lines[0])), refusal
    assert int(found["pid"]) == winner.pid and found["dir"] == str(run_dir)
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "completed" and len(manifest["resumes"]) == 1
    assert content_hash(run_dir) == content_hash(reference)
    assert content_hash(run_dir, "calls") == content_hash(reference, "calls")
    assert check_run(run_dir).sound, check_run(run_dir).problems
    assert not (run_dir / ".lock").exists()  # released with the manifest's final write


def test_a_held_lock_refuses_resume_and_run_with_the_holder_named(tmp_path, victim):
    run_dir = tmp_path / "victim"
    shutil.copytree(victim, run_dir)
    lock = acquire(run_dir, "resume")
    try:
        before = snapshot(run_dir)
        done = societas("resume", str(run_dir))
        assert done.returncode == 2
        assert IN_USE.fullmatch(done.stderr.strip()), done.stderr
        assert f"pid {os.getpid()} " in done.stderr
        assert snapshot(run_dir) == before
        with pytest.raises(RunDirectoryError, match=rf"in use by pid {os.getpid()} "):
            simulator.resume(run_dir)
    finally:
        lock.release()
    assert simulator.resume(run_dir) is not None  # free again: the resume goes on
    assert check_run(run_dir).sound


# -- damaged chunks --------------------------------------------------------------------------------
def delete(path: Path) -> None:
    path.unlink()


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


DAMAGE = {"deleted": (delete, "is missing"), "truncated": (truncate, "is altered"),
          "garbage": (garbage, "is altered")}


@pytest.mark.parametrize("table", ["events", "calls"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_middle_chunk_is_refused_by_resume_and_reported_by_check(tmp_path, victim,
                                                                           damage, table):
    run_dir = tmp_path / "victim"
    shutil.copytree(victim, run_dir)
    spoil, what = DAMAGE[damage]
    spoil(run_dir / table / "part-00001.parquet")
    before = snapshot(run_dir)

    done = societas("resume", str(run_dir))
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"{table}/part-00001.parquet {what}" in line and "nothing was changed" in line
    assert snapshot(run_dir) == before  # no overwrite, no continue
    with pytest.raises(RunDirectoryError, match=rf"{table}/part-00001\.parquet {what}"):
        simulator.fork(run_dir, at=2, run_id="child")
    assert not (tmp_path / "child").exists()

    checked = societas("check", str(run_dir))
    assert checked.returncode == 1
    assert f"{table}/part-00001.parquet {what}" in checked.stdout
    assert checked.stdout.strip().splitlines()[-1].startswith(f"{run_dir}: NOT sound")
    assert snapshot(run_dir) == before


def test_a_manifest_without_a_chunk_record_still_refuses_a_gap(tmp_path, victim):
    run_dir = tmp_path / "victim"
    shutil.copytree(victim, run_dir)
    edit_manifest(run_dir, chunks=None)  # as written before chunks were recorded
    (run_dir / "events" / "part-00001.parquet").unlink()
    before = snapshot(run_dir)
    with pytest.raises(RunDirectoryError, match=r"events/part-00001\.parquet is missing: later "
                                                r"chunks are on disk"):
        simulator.resume(run_dir)
    assert snapshot(run_dir) == before


def test_a_chunk_renamed_but_not_yet_recorded_is_accepted(tmp_path, reference):
    """The kill window between a chunk's rename and the manifest's rewrite."""
    run_dir = tmp_path / "reference"
    shutil.copytree(reference, run_dir)
    manifest = simulator.read_manifest(run_dir)
    chunks = manifest["chunks"]
    last = chunks["events"][-1]["file"]
    edit_manifest(run_dir, status="running", counts=None,
                  chunks={"events": chunks["events"][:-1], "calls": chunks["calls"]})
    assert simulator.resume(run_dir) is not None
    after = simulator.read_manifest(run_dir)
    assert after["chunks"]["events"][-1]["file"] == last  # recorded now
    assert content_hash(run_dir) == content_hash(reference)
    assert check_run(run_dir).sound

    edit_manifest(run_dir, status="running", chunks={"events": chunks["events"][:-3],
                                                     "calls": chunks["calls"]})
    with pytest.raises(RunDirectoryError, match=r"is on disk but not in the manifest, and it "
                                                 r"does not follow the last recorded chunk"):
        simulator.resume(run_dir)


def test_a_new_chunk_is_numbered_past_the_highest_never_by_a_count(tmp_path):
    with RunLog(tmp_path / "r", chunk_rows=1).open({"run_id": "r"}) as log:
        log.event(EventRow("r", 0, 0, 0, "p", "k", None, None, "{}", _when()))
    (tmp_path / "r" / "events" / "part-00000.parquet").rename(
        tmp_path / "r" / "events" / "part-00005.parquet")
    log = RunLog(tmp_path / "r", chunk_rows=1).open({"run_id": "r", "chunks": {}},
                                                    existing=True)
    with log:
        log.event(EventRow("r", 0, 1, 0, "p", "k", None, None, "{}", _when()))
    assert sorted(p.name for p in (tmp_path / "r" / "events").iterdir()) == [
        "part-00005.parquet", "part-00006.parquet"]


# -- nothing buffered is lost ----------------------------------------------------------------------
class Overflowing(ScriptedBackend):
    """Answers like the scripted strategies, but one response reports 2**40 prompt tokens
    (more than the int32 column holds); optionally fails outright from a later step on."""

    def __init__(self, bad: tuple[int, str, int], fail_at: int | None = None) -> None:
        super().__init__(lambda r: r.question.encode(r.question.fallback))
        self.bad, self.fail_at = bad, fail_at

    async def generate(self, requests):
        if self.fail_at is not None and any(r.key.step >= self.fail_at for r in requests):
            raise RuntimeError("the server went away")
        responses = await super().generate(requests)
        for request, response in zip(requests, responses, strict=True):
            if (request.key.sim, request.key.agent, request.key.step) == self.bad:
                response.tokens_in = 2**40
        return responses


def _failing_run(tmp_path, run_id: str, fail_at: int | None = None,
                 **overrides) -> tuple[Path, BaseException]:
    register_backend(f"overflow-{run_id}", lambda cfg: Overflowing((1, "a03", 2), fail_at))
    config = small_run_config("donor_game", tmp_path, run_id, simulations=3,
                              backend={"name": f"overflow-{run_id}"}, **overrides)
    with pytest.raises(Exception) as caught:
        simulator.run(config)
    return tmp_path / run_id, caught.value


def test_a_row_the_log_refuses_fails_the_run_with_the_other_rows_on_disk(tmp_path):
    run_dir, err = _failing_run(tmp_path, "overflow")
    assert isinstance(err, UnwritableRows) and isinstance(err, SimulationError)
    message = str(err)
    assert "\n" not in message
    assert re.search(r"cannot log the calls row of simulation 1, step 2 \(agent 'a03', "
                     r"question '\w+', attempt 0\): column 'tokens_in' refuses 1099511627776",
                     message), message
    written = re.search(r"the other (\d+) rows are in (\S+)\)", message)
    assert written, message
    chunk = Path(written[2])
    assert pq.read_metadata(chunk).num_rows == int(written[1]) > 0
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "failed"
    assert manifest["error"]["type"] == "UnwritableRows"
    assert "simulation 1, step 2" in manifest["error"]["message"]
    calls = read_rows(run_dir, CallRow)
    assert manifest["counts"]["call_rows"] == len(calls) > 0
    assert manifest["counts"]["event_rows"] == len(read_rows(run_dir, EventRow))
    assert chunk.name in {c["file"] for c in manifest["chunks"]["calls"]}
    assert not [r for r in calls if (r.sim, r.agent, r.step) == (1, "a03", 2)]
    assert len({call_key(r) for r in calls}) == len(calls)


def test_a_flush_failing_while_the_run_fails_keeps_both_errors_and_the_rows(tmp_path):
    run_dir, err = _failing_run(tmp_path, "late", fail_at=5, chunk_rows=100_000)
    assert "the server went away" in str(err)  # the run's own error goes on
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "failed"
    message = manifest["error"]["message"]
    assert "the server went away" in message
    assert "the last rows could not all be written: cannot log the calls row of simulation " \
           "1, step 2" in message
    calls = read_rows(run_dir, CallRow)
    assert manifest["counts"]["call_rows"] == len(calls) > 0  # buffered rows were not lost
    assert manifest["counts"]["event_rows"] == len(read_rows(run_dir, EventRow)) > 0


def _when():
    import datetime as dt

    return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

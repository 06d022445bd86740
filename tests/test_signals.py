"""SIGINT and SIGTERM at random moments end a run cleanly, and `resume` completes it exactly.

Each trial starts ``societas run`` (scripted backend, a run of about 1-3 s), waits until the
process has installed its SIGTERM handler (bit 15 of ``SigCgt`` in /proc: before that the
interpreter is still starting and the signal's default action applies, as for any program),
sleeps a random delay covering start-up (config composition, imports, opening the run
directory), the run and its very end (the summary), and sends SIGINT or SIGTERM. It asserts a
clean end: exit code 0 (the run had finished), 130 or 143 matching the signal; no traceback and
no "Task exception" on stderr; no hang; a manifest "interrupted" or "completed". Then
``societas resume`` completes the run, and its event and call logs hash as an uninterrupted
reference run's.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from societas import simulator
from societas.simulator._log import content_hash
from societas.simulator._signals import Interrupted, install_signal_handlers, interruption
from societas.simulator._signals import run as run_interruptibly

SCENARIOS = {
    "werewolf": ["scenario=werewolf", "simulations=96"],
    "traitors": ["scenario=traitors", "simulations=96"],
    "donor_game": ["scenario=donor_game", "simulations=24"],
    "debate": ["scenario=debate", "simulations=48"],
}
TRIALS = 60
HANG_S = 60.0
EXE = str(Path(sys.executable).with_name("societas"))


def run_args(scenario: str, out: Path, run_id: str) -> list[str]:
    return [EXE, "run", *SCENARIOS[scenario], "backend=scripted", "seed=5", "chunk_rows=400",
            "progress=false", f"out_dir={out}", f"run_id={run_id}"]


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (its CLI has started)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))
                 .split()[1], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def wait_ready(process: subprocess.Popen[str]) -> float:
    """Seconds from spawn until the SIGTERM handler is installed (or the process ended)."""
    started = time.monotonic()
    while process.poll() is None and not catches_sigterm(process.pid):
        time.sleep(0.002)
    return time.monotonic() - started


def reference(scenario: str, out: Path) -> tuple[str, str, float]:
    """An uninterrupted run: its event and call hashes and its seconds after start-up."""
    process = subprocess.Popen(run_args(scenario, out, f"ref-{scenario}"), text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_ready(process)
    ready = time.monotonic()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    run_dir = out / f"ref-{scenario}"
    return content_hash(run_dir), content_hash(run_dir, "calls"), time.monotonic() - ready


def trial(index: int, scenario: str, delay: float, signum: int, out: Path,
          expected: tuple[str, str]) -> str:
    """One signalled run and its resume; returns the outcome, raises on an unclean end."""
    run_id = f"t{index}-{scenario}"
    process = subprocess.Popen(run_args(scenario, out, run_id), text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_ready(process)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"trial {index} ({scenario}, {signum} after {delay:.2f} s) hung"
                             ) from None
    where = f"trial {index} ({scenario}, signal {signum} after {delay:.2f} s)"
    assert process.returncode in (0, 128 + signum), f"{where}: exit {process.returncode}: {err}"
    assert "Traceback" not in err and "Task exception" not in err, f"{where}: {err}"
    assert "never awaited" not in err and "was destroyed" not in err, f"{where}: {err}"
    run_dir = out / run_id
    if process.returncode != 0:
        assert len(err.strip().splitlines()) == 1 and "interrupted by" in err, f"{where}: {err}"
    if not (run_dir / "manifest.json").exists():
        assert process.returncode != 0 and not run_dir.exists(), where
        return "before the run directory"
    status = simulator.read_manifest(run_dir)["status"]
    assert status in ("interrupted", "completed"), f"{where}: manifest {status!r}"
    assert status == "completed" or process.returncode != 0, where
    resumed = subprocess.run([EXE, "resume", str(run_dir)], capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, f"{where}: resume failed: {resumed.stderr}"
    assert simulator.read_manifest(run_dir)["status"] == "completed", where
    got = (content_hash(run_dir), content_hash(run_dir, "calls"))
    assert got == expected, f"{where}: the resumed log differs from the reference"
    ending = "exit 0" if process.returncode == 0 else "signalled"
    return f"{status} ({ending})"


@pytest.mark.slow  # about 2-3 min on 2 shared cores
@pytest.mark.subprocess
def test_random_signals_end_runs_cleanly_and_resume_exactly(tmp_path):
    refs = {name: reference(name, tmp_path) for name in SCENARIOS}
    rng = random.Random(20261206)
    plans = []
    for index in range(TRIALS):
        scenario = list(SCENARIOS)[index % len(SCENARIOS)]
        span = refs[scenario][2]
        delay = rng.uniform(0.0, span * 1.05)  # from start-up to just past the end
        signum = rng.choice([signal.SIGINT, signal.SIGTERM])
        plans.append((index, scenario, delay, signum))
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda p: trial(*p, tmp_path, refs[p[1]][:2]), plans))
    tally = Counter(outcomes)
    print(f"\n{TRIALS} signal trials: {dict(tally)}")
    assert tally["interrupted (signalled)"] >= TRIALS // 5  # many signals hit a running run


@pytest.fixture
def cli_handlers():
    """The CLI's handlers for the test, pytest's own afterwards."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    install_signal_handlers()
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_loop_cancels_the_run_at_an_await(cli_handlers, signum):
    cleaned = []

    async def main():
        helper = asyncio.get_running_loop().create_task(asyncio.sleep(30))
        try:
            os.kill(os.getpid(), signum)
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0)  # the cleanup may await: it is not cancelled again
            os.kill(os.getpid(), signum)  # a second signal does not abort the cleanup
            await asyncio.sleep(0.01)
            helper.cancel()
            cleaned.append(True)

    started = time.monotonic()
    with pytest.raises(Interrupted) as caught:
        run_interruptibly(main())
    assert caught.value.signum == signum and caught.value.exit_code == 128 + signum
    assert cleaned == [True] and time.monotonic() - started < 5
    assert signal.getsignal(signum) is not signal.SIG_DFL  # the CLI's handler is back


def test_a_signal_outside_the_loop_raises_at_once(cli_handlers):
    with pytest.raises(Interrupted) as caught:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert caught.value.exit_code == 143


def test_a_signal_that_came_as_the_run_ended_is_raised_after_it(cli_handlers):
    async def main():
        return "done"

    def late_signal(*_):
        os.kill(os.getpid(), signal.SIGTERM)

    # the signal arrives while the runner closes (as a loop callback scheduled at the end)
    async def ending():
        asyncio.get_running_loop().call_soon(late_signal)
        return await main()

    with pytest.raises(Interrupted):
        run_interruptibly(ending())


def test_a_librarys_own_keyboard_interrupt_is_not_raised_over(cli_handlers):
    try:
        raise KeyboardInterrupt  # what polars raises on SIGINT, before Python's handler runs
    except KeyboardInterrupt as err:
        os.kill(os.getpid(), signal.SIGINT)  # the pending signal reaches the handler here
        time.sleep(0.01)
        stop = interruption(err)
    assert stop is not None and stop.exit_code == 130


def test_an_error_a_signal_caused_counts_as_the_interruption(cli_handlers):
    assert interruption(ValueError("a bug")) is None
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    except Interrupted:
        pass
    broken = AttributeError("'NoneType' object has no attribute ...")  # a library's cleanup
    stop = interruption(broken)
    assert stop is not None and stop.exit_code == 143

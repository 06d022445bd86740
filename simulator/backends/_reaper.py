"""A watchdog that ends an inference engine's child processes when their owner dies.

vLLM runs its engine core in a child process. A normal close shuts it down, and Ctrl-C reaches it
through the terminal's process group, but when the owning process is killed outright (SIGKILL,
an out-of-memory kill, a CI timeout) nothing tells the child, which then lingers and can burn
CPU. `Reaper` starts a tiny stdlib-only process in its own session holding the read end of a
pipe. The kernel closes the write end when the owner exits, however it exits; the watchdog then
sends SIGTERM, and SIGKILL after a grace period, to every registered process that is still the
same process (pid and start time match, so a recycled pid is never hit).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_WATCHDOG = r"""
import os, signal, sys, time

def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]   # a zombie has already ended

targets = {}
grace = float(sys.argv[1])
for line in sys.stdin:          # "pid start_time" lines until the owner's end closes the pipe
    pid, started = line.split()
    targets[int(pid)] = started
for sig in (signal.SIGTERM, signal.SIGKILL):
    alive = [p for p, s in targets.items() if start_time(p) == s]
    for pid in alive:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if start_time(p) == targets[p]]
    if not alive:
        break
"""


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/pid/stat); None once it has ended.

    A zombie (ended, not yet reaped by its parent) counts as ended.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def child_pids(pid: int | None = None) -> set[int]:
    """Every descendant of `pid` (default: this process), read from /proc."""
    root = os.getpid() if pid is None else pid
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    frontier = [root]
    while frontier:
        for child in parents.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


_SHARED_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def engine_children(before: set[int]) -> set[int]:
    """Children of this process started since `before` was taken, minus shared helpers.

    multiprocessing's resource tracker (and forkserver) serve the whole process, not one engine;
    they exit by themselves when this process does, and killing them would break later users.
    """
    found = set()
    for pid in child_pids() - before:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if not any(helper in command for helper in _SHARED_HELPERS):
            found.add(pid)
    return found


class Reaper:
    """Kills registered processes when this process ends (or when `release` is called).

    Args:
        grace_s: seconds between SIGTERM and SIGKILL.
    """

    def __init__(self, grace_s: float = 3.0) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._grace_s = grace_s
        self.watched: set[int] = set()

    @property
    def pid(self) -> int | None:
        """The watchdog's pid (None before the first `watch`)."""
        return self._process.pid if self._process else None

    def watch(self, pids: set[int]) -> None:
        """Register processes to end when this process ends."""
        if not pids:
            return
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(self._grace_s)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                text=True, start_new_session=True, close_fds=True)
        assert self._process.stdin is not None
        for pid in sorted(pids - self.watched):
            started = process_start_time(pid)
            if started is not None:
                self._process.stdin.write(f"{pid} {started}\n")
                self.watched.add(pid)
        self._process.stdin.flush()

    def release(self, timeout_s: float = 15.0) -> None:
        """End the watched processes that are still running now, and the watchdog itself."""
        if self._process is None:
            return
        process, self._process = self._process, None
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

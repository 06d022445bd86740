"""An exclusive lock on a run directory, so one process at a time writes it.

``run``, ``resume`` and ``fork`` (into its new directory) hold ``<run_dir>/.lock`` with
``flock(LOCK_EX | LOCK_NB)`` from before they read or write anything until the manifest's final
write. The kernel releases the lock when its process dies, so a run killed with SIGKILL can be
resumed at once. The file holds a small JSON naming the holder (pid, host, command, start time)
for the refusal message; it is not part of the run's record (readers, hashes and ``check`` look
only at ``manifest.json`` and the ``events``/``calls`` chunks) and is removed on release.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from societas.simulator._clock import now_utc
from societas.simulator._errors import RunDirectoryError

LOCK_NAME = ".lock"


class RunLock:
    """The held lock of one run directory; `release` (or process death) frees it."""

    def __init__(self, run_dir: Path, fd: int) -> None:
        self.run_dir = run_dir
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file and free the lock; safe to call twice."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / LOCK_NAME).unlink()  # while held: no one else can be holding it
        os.close(self._fd)  # closing the descriptor frees the flock
        self._fd = None


def acquire(run_dir: str | os.PathLike[str], command: str) -> RunLock:
    """Lock `run_dir` (which must exist) for `command`, or `RunDirectoryError` naming the holder.

    The holder may remove the lock file on release after another process opened it; a lock
    taken on such a removed file is dropped and taken again on the file now at the path.
    """
    run_dir = Path(run_dir)
    path = run_dir / LOCK_NAME
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise RunDirectoryError(f"{run_dir} cannot be locked ({path}: {err.strerror}); "
                                    "it must be a writable run directory") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _wait_for_holder(fd)
            os.close(fd)
            raise RunDirectoryError(f"{run_dir} is in use by {holder}; wait for it to end") \
                from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the file was removed by a holder that just released it: take the new one
    _write_holder(fd, command)
    return RunLock(run_dir, fd)


@contextlib.contextmanager
def locked(run_dir: str | os.PathLike[str], command: str) -> Iterator[RunLock]:
    """Hold `run_dir`'s lock for the duration of a ``with`` block."""
    lock = acquire(run_dir, command)
    try:
        yield lock
    finally:
        lock.release()


def holder_info(command: str) -> dict[str, Any]:
    """What the lock file says about this process."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
            "argv": sys.argv, "since": now_utc().isoformat(timespec="seconds")}


def _write_holder(fd: int, command: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder_info(command)).encode(), 0)


#: How long a refused process waits for a holder that has just taken the lock to name itself.
HOLDER_WAIT_S = 2.0


def _wait_for_holder(fd: int) -> str:
    """The holder as the refusal names it, waiting briefly for one that is writing its name."""
    deadline = time.monotonic() + HOLDER_WAIT_S
    while (holder := _read_holder(fd)) is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the holder writes its name right after taking the lock
    return holder or "another process (it is starting)"


def _read_holder(fd: int) -> str | None:
    try:
        info = json.loads(os.pread(fd, 65_536, 0) or b"{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:  # taken a moment ago, not yet written
        return None
    return (f"pid {info.get('pid')} on host {info.get('host')} "
            f"(societas {info.get('command')}, since {info.get('since')})")


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_path = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_path.st_dev, on_path.st_ino)

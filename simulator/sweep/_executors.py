"""Where sweep tasks run without Ray: in this process, or in a local process pool.

Every executor has the same small surface: `submit` a task, `poll` for finished tasks (each with
its reports, or the exception that ended it), `messages` for progress, `close`. The Ray executor
(`simulator.sweep._ray`) has the same surface.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import queue
from typing import Any, Protocol

from societas.simulator.sweep._group import GroupTask, RunReport, execute_group

Finished = tuple[GroupTask, "list[RunReport] | BaseException"]


class Executor(Protocol):
    """Runs sweep tasks somewhere and hands back what finished."""

    slots: int
    """How many tasks run at once (sizes the default number of runs per task)."""

    def submit(self, task: GroupTask) -> None:
        """Start (or queue) a task."""

    def poll(self, timeout_s: float) -> list[Finished]:
        """Tasks that finished within `timeout_s` seconds (possibly none)."""
        ...

    def messages(self) -> list[dict[str, Any]]:
        """Progress messages received since the last call."""
        ...

    def close(self) -> None:
        """Release workers."""


class InlineExecutor:
    """Runs each task in this process, one at a time (debugging, tiny sweeps)."""

    slots = 1

    def __init__(self) -> None:
        self._queue: list[GroupTask] = []
        self._messages: list[dict[str, Any]] = []

    def submit(self, task: GroupTask) -> None:
        """Queue a task; `poll` runs it."""
        self._queue.append(task)

    def poll(self, timeout_s: float) -> list[Finished]:
        """Run the next queued task to the end."""
        if not self._queue:
            return []
        task = self._queue.pop(0)
        try:
            return [(task, execute_group(task, self._messages.append))]
        except Exception as err:
            return [(task, err)]

    def messages(self) -> list[dict[str, Any]]:
        """Messages of the tasks run so far."""
        out, self._messages = self._messages, []
        return out

    def close(self) -> None:
        """Nothing to release."""


_WORKER_QUEUE: Any = None


def _init_worker(messages: Any) -> None:
    global _WORKER_QUEUE
    _WORKER_QUEUE = messages


def _pool_task(task: GroupTask) -> list[RunReport]:
    return execute_group(task, _WORKER_QUEUE.put)


class PoolExecutor:
    """A local process pool that survives a killed worker.

    A worker that dies breaks a process pool: the pool is rebuilt and every task it lost is
    resubmitted (at most `retries` times each); completed runs are skipped on the second try.
    """

    def __init__(self, workers: int, *, retries: int) -> None:
        self.slots = workers
        self._retries = retries
        self._context = mp.get_context("spawn")
        self._queue = self._context.Queue()
        self._pool = self._new_pool()
        self._futures: dict[cf.Future[list[RunReport]], GroupTask] = {}
        self._tries: dict[int, int] = {}
        self._generation: dict[cf.Future[list[RunReport]], cf.ProcessPoolExecutor] = {}

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.slots, mp_context=self._context,
                                      initializer=_init_worker, initargs=(self._queue,))

    def submit(self, task: GroupTask) -> None:
        """Send a task to the pool."""
        self._tries[task.index] = self._tries.get(task.index, 0) + 1
        future = self._pool.submit(_pool_task, task)
        self._futures[future] = task
        self._generation[future] = self._pool

    def poll(self, timeout_s: float) -> list[Finished]:
        """Finished tasks; tasks lost with a dead worker are resubmitted to a new pool."""
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), timeout=timeout_s,
                          return_when=cf.FIRST_COMPLETED)
        finished: list[Finished] = []
        lost: list[GroupTask] = []
        for future in done:
            task = self._futures.pop(future)
            pool = self._generation.pop(future)
            error = future.exception()
            if isinstance(error, cf.BrokenExecutor) and self._tries[task.index] <= self._retries:
                lost.append(task)
                if pool is self._pool:  # the current pool broke: replace it once
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
            else:
                finished.append((task, error if error is not None else future.result()))
        if lost:
            for task in lost:
                self.submit(task)
        return finished

    def messages(self) -> list[dict[str, Any]]:
        """Messages the workers sent since the last call."""
        out: list[dict[str, Any]] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Shut the pool down."""
        self._pool.shutdown(wait=True, cancel_futures=True)

"""Sweep tasks as Ray tasks: local Ray (``--ray auto``) or an existing cluster (``--ray ADDR``).

Each task is retried by Ray when its worker dies (``max_retries``, set explicitly: a killed
worker is a system failure, not an application error); the retried task skips the runs that
completed and redoes the interrupted ones. Application errors never reach Ray: a failing run is
recorded as failed by the task itself. Progress messages go through a small tally actor.
"""

from __future__ import annotations

from typing import Any

from societas.simulator._ray_connect import connect
from societas.simulator.sweep._executors import Finished
from societas.simulator.sweep._group import GroupTask, RunReport, execute_group


class _Tally:
    """Collects progress messages from every task until the driver drains them."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []

    async def push(self, message: dict[str, Any]) -> None:
        """Keep one message."""
        self._messages.append(message)

    async def drain(self) -> list[dict[str, Any]]:
        """Every message since the last drain."""
        out, self._messages = self._messages, []
        return out


def _ray_task(task: GroupTask, tally: Any) -> list[RunReport]:
    return execute_group(task, lambda message: tally.push.remote(message))


class RayExecutor:
    """Runs sweep tasks as Ray tasks, one CPU each, retried when a worker dies."""

    def __init__(self, address: str | None, *, retries: int) -> None:
        import ray

        self._ray = ray
        self._owns = connect(address)
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._tally = ray.remote(num_cpus=0)(_Tally).remote()
        self._remote = ray.remote(_ray_task).options(
            num_cpus=1, max_retries=retries, retry_exceptions=False)
        self._refs: dict[Any, GroupTask] = {}

    def submit(self, task: GroupTask) -> None:
        """Submit a task to the cluster."""
        self._refs[self._remote.remote(task, self._tally)] = task

    def poll(self, timeout_s: float) -> list[Finished]:
        """Tasks that finished (or exhausted their retries) within `timeout_s`."""
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=len(self._refs),
                                  timeout=timeout_s)
        finished: list[Finished] = []
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                finished.append((task, self._ray.get(ref)))
            except Exception as err:  # retries exhausted, or the task itself failed
                finished.append((task, err))
        return finished

    def messages(self) -> list[dict[str, Any]]:
        """Progress messages the tasks sent since the last call."""
        return list(self._ray.get(self._tally.drain.remote()))

    def close(self) -> None:
        """Release the tally actor; disconnect when this executor connected."""
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._ray.kill(self._tally)  # pyright: ignore[reportArgumentType]  # ray: proxy≠handle
        if self._owns:
            self._ray.shutdown()

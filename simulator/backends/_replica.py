"""The body of one inference replica (a Ray actor): a backend plus a request coalescer.

Many simulations on many nodes call one replica at once, each with a small batch. The replica
queues the calls that arrive while its backend is busy and sends them as one batch when it is
free (up to the backend's `max_batch`), so a replica is fed large batches whatever its clients
do. Every call returns the responses plus the replica's queue length, which clients use to see
that a replica falls behind.

No Ray import here: `simulator.backends.ray_replicas` wraps this class with ``ray.remote``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend

BackendFactory = Callable[[int], Backend]
"""Builds the backend of replica `index` (for backends not in the registry: notebooks, tests)."""

_Call = tuple[list[Request], "asyncio.Future[list[Response]]"]


class ReplicaServer:
    """Owns one backend; answers `generate` calls from any number of clients."""

    def __init__(self, index: int, config: dict[str, Any] | None,
                 factory: BackendFactory | None = None) -> None:
        self.index = index
        self._config = config
        self._factory = factory
        self._backend: Backend | None = None
        self._opening: asyncio.Lock | None = None
        self._queue: list[_Call] = []
        self._draining = False
        self._batches = 0
        self._requests = 0

    async def generate(self, requests: list[Request]) -> tuple[list[Response], int]:
        """Answer `requests` (coalesced with concurrent calls); also return the queue length."""
        backend = await self._open()
        future: asyncio.Future[list[Response]] = asyncio.get_running_loop().create_future()
        self._queue.append((requests, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain(backend))
        responses = await future
        return responses, self.queued()

    def queued(self) -> int:
        """Requests waiting for the backend."""
        return sum(len(requests) for requests, _ in self._queue)

    async def describe(self) -> dict[str, Any]:
        """The replica backend's identity."""
        return (await self._open()).describe()

    async def stats(self) -> dict[str, Any]:
        """Batches and requests served since the replica (re)started, plus backend counters."""
        backend = await self._open()
        return {"index": self.index, "batches": self._batches, "requests": self._requests,
                **backend.stats()}

    async def _open(self) -> Backend:
        if self._backend is not None:
            return self._backend
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._backend is None:
                backend = self._build()
                await backend.open()
                self._backend = backend
        return self._backend

    def _build(self) -> Backend:
        if self._factory is not None:
            return self._factory(self.index)
        from societas.simulator._config import BackendConfig
        from societas.simulator._registry import build_backend

        return build_backend(BackendConfig.model_validate(self._config or {}))

    async def _drain(self, backend: Backend) -> None:
        try:
            while self._queue:
                calls = self._take(backend.max_batch)
                flat = [request for requests, _ in calls for request in requests]
                self._batches += 1
                self._requests += len(flat)
                try:
                    responses = await backend.generate(flat)
                except Exception as err:
                    for _, future in calls:
                        if not future.done():
                            future.set_exception(err)
                    continue
                start = 0
                for requests, future in calls:
                    if not future.done():
                        future.set_result(responses[start : start + len(requests)])
                    start += len(requests)
        finally:
            self._draining = False

    def _take(self, limit: int) -> list[_Call]:
        """The oldest queued calls whose requests fit in one batch (always at least one)."""
        taken = [self._queue.pop(0)]
        size = len(taken[0][0])
        while self._queue and size + len(self._queue[0][0]) <= limit:
            size += len(self._queue[0][0])
            taken.append(self._queue.pop(0))
        return taken

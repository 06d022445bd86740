"""The batcher: gathers pending requests from every live simulation into backend batches.

A batch goes out when every live simulation is waiting on an answer, or as soon as a backend's
`max_batch` requests are pending. Which requests share a batch never changes an answer: each
request's seed comes from its key, not from its neighbours.

Accounting per simulation: ``outstanding`` requests (submitted, answer not yet consumed) and
``ready`` ones (answered, not yet consumed). A simulation is *waiting* when it has outstanding
requests and none ready; once all live simulations wait, nothing else can add a request.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """Which batch answered a request, and how long that batch took."""

    batch_id: int
    size: int
    latency_s: float


@dataclass(slots=True)
class Slot:
    """One live simulation's requests: submitted but not consumed, and answered ones."""

    outstanding: int = 0
    ready: int = 0

    @property
    def waiting(self) -> bool:
        return self.outstanding > 0 and self.ready == 0


_Entry = tuple[Request, "asyncio.Future[tuple[Response, BatchInfo]]", Slot]


@dataclass
class BatchStats:
    """Batch sizes seen, per backend key."""

    sizes: dict[str, list[int]] = field(default_factory=dict)

    def histogram(self, key: str | None = None) -> Counter[int]:
        """Count of batches by size (one backend, or all)."""
        keys = [key] if key else list(self.sizes)
        return Counter(s for k in keys for s in self.sizes.get(k, []))


class Batcher:
    """Collects requests per backend and dispatches them in batches."""

    def __init__(self, backends: dict[str, Backend]) -> None:
        self._backends = backends
        self._pending: dict[str, list[_Entry]] = {key: [] for key in backends}
        self._live = 0
        self._waiting = 0
        self._flush_scheduled = False
        self._inflight: set[asyncio.Task[None]] = set()
        self._batch_ids = itertools.count()
        self.stats = BatchStats({key: [] for key in backends})

    # -- simulations come and go ---------------------------------------------------------------
    def join(self) -> Slot:
        """Register a live simulation."""
        self._live += 1
        return Slot()

    def leave(self, slot: Slot) -> None:
        """Unregister a simulation that finished (or failed)."""
        if slot.waiting:
            self._waiting -= 1
        self._live -= 1
        self._maybe_flush()

    # -- requests ------------------------------------------------------------------------------
    async def submit(self, slot: Slot, backend_key: str,
                     request: Request) -> tuple[Response, BatchInfo]:
        """Queue `request` for `backend_key` and wait for its response."""
        future: asyncio.Future[tuple[Response, BatchInfo]] = (
            asyncio.get_running_loop().create_future())
        self._pending[backend_key].append((request, future, slot))
        self._change(slot, outstanding=+1)
        if len(self._pending[backend_key]) >= self._backends[backend_key].max_batch:
            self._schedule_flush()
        try:
            return await future
        finally:
            answered = future.done() and not future.cancelled()
            self._change(slot, outstanding=-1, ready=-1 if answered else 0)

    def _change(self, slot: Slot, outstanding: int = 0, ready: int = 0) -> None:
        was_waiting = slot.waiting
        slot.outstanding += outstanding
        slot.ready += ready
        self._waiting += int(slot.waiting) - int(was_waiting)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._waiting == self._live and any(self._pending.values()):
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        everyone_waits = self._waiting == self._live
        for key, pending in self._pending.items():
            limit = self._backends[key].max_batch
            live = [e for e in pending if not e[1].done()]
            cut = len(live) if everyone_waits else len(live) - len(live) % limit
            for start in range(0, cut, limit):
                chunk = live[start : start + limit]
                task = asyncio.get_running_loop().create_task(self._run_batch(key, chunk))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            self._pending[key] = live[cut:]

    async def _run_batch(self, key: str, chunk: list[_Entry]) -> None:
        backend = self._backends[key]
        self.stats.sizes[key].append(len(chunk))
        started = time.perf_counter()
        try:
            responses = await backend.generate([request for request, _, _ in chunk])
            if len(responses) != len(chunk):
                raise RuntimeError(f"backend {backend.name!r} returned {len(responses)} responses "
                                   f"for {len(chunk)} requests")
        except BaseException as err:
            for _, future, slot in chunk:
                if not future.done():
                    future.set_exception(err)
                    self._change(slot, ready=+1)
            if not isinstance(err, Exception):
                raise
            return
        info = BatchInfo(next(self._batch_ids), len(chunk), time.perf_counter() - started)
        for (_, future, slot), response in zip(chunk, responses, strict=True):
            if not future.done():
                future.set_result((response, info))
                self._change(slot, ready=+1)

    async def drain(self) -> None:
        """Wait for batches still in flight (after the simulations ended)."""
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

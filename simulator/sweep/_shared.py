"""One backend serving several runs at once: each run gets its own view of it.

`simulator.arun` opens and closes the backends it is given. When the runs of one sweep task
share a backend (one model in memory, fed by every simulation of the task), each run gets a
`BackendView`: opening and closing the view leaves the shared backend open, and the view counts
the requests and tokens of its own run for that run's manifest.

A backend may offer its own per-run view through a ``session()`` method (the Ray replica
backend does, so that each run routes its games by its own affinity keys); `view_of` uses it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend
from societas.simulator.backends._usage import count_answers


class BackendView(Backend):
    """A per-run view of a shared, already open backend."""

    def __init__(self, shared: Backend) -> None:
        self._shared = shared
        self.name = shared.name
        self.max_batch = shared.max_batch
        self._counts: Counter[str] = Counter(requests=0, tokens_in=0, tokens_out=0,
                                             cached_tokens=0)

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer through the shared backend, counting this run's share."""
        self._require_open()
        responses = await self._shared.generate(requests)
        count_answers(self._counts, responses)
        return responses

    def describe(self) -> dict[str, Any]:
        """The shared backend's identity."""
        return self._shared.describe()

    def stats(self) -> dict[str, Any]:
        """This run's requests and tokens."""
        return dict(self._counts)


def view_of(shared: Backend) -> Backend:
    """A fresh per-run view of `shared` (its own ``session()`` when it has one)."""
    session: Callable[[], Backend] | None = getattr(shared, "session", None)
    return session() if callable(session) else BackendView(shared)

"""The backend contract: one async method, typed requests in, typed responses out."""

from __future__ import annotations

from typing import Any

from societas.simulator._lifecycle import Lifecycle
from societas.simulator._requests import Request, Response


class Backend(Lifecycle):
    """Answers batches of requests. Subclasses implement `generate` (and `open`/`close` if needed).

    Attributes:
        name: the registered backend name (``"scripted"``, ``"vllm"``, …).
        max_batch: the largest batch `generate` accepts; the engine never sends more.
    """

    name: str = "backend"
    max_batch: int = 256

    async def open(self) -> None:
        """Acquire resources (load a model, open a connection)."""
        self._mark_open()

    async def close(self) -> None:
        """Release resources; safe to call twice."""
        self._mark_closed()

    async def __aenter__(self) -> Backend:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer `requests` in order: one response per request."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Identity for the run manifest (backend name, model, weights hash…)."""
        return {"name": self.name, "max_batch": self.max_batch}

    def stats(self) -> dict[str, Any]:
        """Counters accumulated since `open` (tokens, cache hits, engine time…)."""
        return {}

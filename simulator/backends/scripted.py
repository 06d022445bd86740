"""The scripted backend: answers without a model, from a plain function."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend

Handler = Callable[[Request], "str | Awaitable[str]"]


class ScriptedBackend(Backend):
    """Answers each request with ``handler(request)``, a sync or async function returning raw text.

    The handler's text goes through the same parse, retry and fallback path as a model's, so a
    handler returning malformed text exercises the repair loop. Every batch is recorded in
    `batch_sizes`, which tests read to check batching.
    """

    name = "scripted"

    def __init__(self, handler: Handler, *, max_batch: int = 4096) -> None:
        self._handler = handler
        self._is_async = inspect.iscoroutinefunction(handler)
        self.max_batch = max_batch
        self.batch_sizes: list[int] = []

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer each request with the handler's text."""
        self._require_open()
        if len(requests) > self.max_batch:
            raise ValueError(f"batch of {len(requests)} exceeds max_batch={self.max_batch}")
        self.batch_sizes.append(len(requests))
        if self._is_async:
            texts = [await self._handler(r) for r in requests]  # type: ignore[misc]
        else:
            texts = [self._handler(r) for r in requests]
        return [Response(text=t) for t in texts]  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        """Identity for the manifest: no model."""
        return {"name": self.name, "max_batch": self.max_batch, "model": None}

    def stats(self) -> dict[str, Any]:
        """Batches and requests answered."""
        return {"batches": len(self.batch_sizes), "requests": sum(self.batch_sizes)}


def build(config: Any) -> ScriptedBackend:
    """Registry builder: a scripted stand-in model answering every question at random."""
    from societas.simulator._strategies import RandomStrategy, StrategyHandler

    handler = StrategyHandler({"model": RandomStrategy()})
    return ScriptedBackend(handler, max_batch=config.max_batch)

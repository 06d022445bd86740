"""The replay backend: answers requests from a run's recorded calls, checking each prompt."""

from __future__ import annotations

from typing import Any

from societas.simulator._errors import ReplayDivergence
from societas.simulator._history import History
from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend


class ReplayBackend(Backend):
    """Answers each request with the raw text recorded for its key.

    The engine sends here only requests the history holds. Before answering a batch it checks
    every request against its record and, on a mismatch, stops with the first divergent request
    in key order and a diff of the prompts.
    """

    name = "replay"

    def __init__(self, history: History, *, max_batch: int = 1 << 20) -> None:
        self.history = history
        self.max_batch = max_batch
        self.answered = 0

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Recorded responses, in order."""
        self._require_open()
        records = [self.history.lookup(r.key) for r in requests]
        problems = []
        for request, record in zip(requests, records, strict=True):
            if record is None:
                raise AssertionError(f"no record for {request.key}; the engine routes only "
                                     "recorded requests here")
            problem = self.history.check(request, record)
            if problem is not None:
                problems.append((_order(request), problem))
        if problems:
            raise ReplayDivergence(f"replay diverged: {min(problems)[1]}")
        self.answered += len(requests)
        return [
            Response(text=r.raw_text, tokens_in=r.tokens_in, tokens_out=r.tokens_out,
                     cached_tokens=r.cached_tokens, option_logprobs=_loads(r.option_logprobs))
            for r in records if r is not None
        ]

    def stats(self) -> dict[str, Any]:
        """How many requests were answered from the record."""
        return {"replayed": self.answered}


def _order(request: Request) -> tuple[int, int, str, int, int]:
    key = request.key
    return (key.sim, key.step, key.agent, key.k, key.attempt)


def _loads(text: str | None) -> dict[str, float] | None:
    import json

    return None if text is None else json.loads(text)

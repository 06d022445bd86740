"""Token and cache accounting shared by the model backends (read live by the progress bar)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from societas.simulator._requests import Response


@dataclass
class Usage:
    """Counters accumulated since a backend opened.

    ``prefix_cache_queries`` counts prompt tokens looked up in the prefix cache and
    ``prefix_cache_hits`` those found there (vLLM's own definitions), so the hit rate is the share
    of prompt tokens that did not need computing.
    """

    requests: int = 0
    batches: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    prefix_cache_queries: int = 0
    prefix_cache_hits: int = 0
    engine_s: float = 0.0
    startup_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, responses: list[Response], seconds: float) -> None:
        """Count one answered batch."""
        self.batches += 1
        self.engine_s += seconds
        for response in responses:
            self.requests += 1
            self.errors += response.error is not None
            self.tokens_in += response.tokens_in
            self.tokens_out += response.tokens_out
            self.prefix_cache_queries += response.tokens_in
            self.prefix_cache_hits += response.cached_tokens

    def as_dict(self) -> dict[str, Any]:
        """The counters for `Backend.stats`, with the hit rate and throughput derived."""
        queries = self.prefix_cache_queries
        return {
            "requests": self.requests, "batches": self.batches, "errors": self.errors,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "prefix_cache_queries": queries, "prefix_cache_hits": self.prefix_cache_hits,
            "prefix_cache_hit_rate": self.prefix_cache_hits / queries if queries else None,
            "engine_s": round(self.engine_s, 3), "startup_s": round(self.startup_s, 3),
            "tokens_out_per_s": self.tokens_out / self.engine_s if self.engine_s else None,
            **self.extra,
        }


def count_answers(counts: Counter[str], responses: Iterable[Response | None]) -> None:
    """Add answered requests and their tokens to `counts`.

    `counts` is one run's share of a backend that several runs use; a missing response
    (``None``) is not counted.
    """
    for response in responses:
        if response is not None:
            counts["requests"] += 1
            counts["tokens_in"] += response.tokens_in
            counts["tokens_out"] += response.tokens_out
            counts["cached_tokens"] += response.cached_tokens


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started

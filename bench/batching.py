"""Batching: one backend, the same prompts three ways.

(b) through the engine: ``--games`` donor games run concurrently with every agent answered by the
    model; the engine batches their questions. Every request the backend receives is recorded,
    with the batch it came in.
(a) raw batched: the recorded batches submitted straight to the backend (no engine, no log).
(c) one at a time: the first ``--single`` recorded requests, one backend call each (how most
    multi-agent frameworks call a model).

Each phase starts from an empty prefix cache (vLLM), after one warm-up engine run. Prints tokens
out per second for each and the ratios (b)/(a) and (b)/(c).

    python bench/batching.py [--backend vllm|transformers|both] [--games 8] [--agents 8]
                             [--generations 1] [--rounds 4] [--single 24]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass

from societas import simulator
from societas.simulator.backends import Backend, Request, Response


class Recording(Backend):
    """Wraps a backend, recording every batch it answers."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_batch = inner.max_batch
        self.batches: list[list[Request]] = []
        self.responses: list[Response] = []

    async def open(self) -> None:
        await super().open()
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()
        await super().close()

    async def generate(self, requests: list[Request]) -> list[Response]:
        responses = await self.inner.generate(requests)
        self.batches.append(list(requests))
        self.responses.extend(responses)
        return responses

    def describe(self) -> dict:
        return self.inner.describe()

    def stats(self) -> dict:
        return self.inner.stats()


@dataclass
class Phase:
    label: str
    requests: int
    tokens_out: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.tokens_out / self.seconds


def config(args: argparse.Namespace, out: str, tag: str) -> dict:
    return {
        "scenario": {"name": "donor_game", "generations": args.generations,
                     "rounds": args.rounds, "reasoning": False, "strategy_words": 30},
        "population": {"size": args.agents}, "backend": {"name": args.backend_name,
                                                         "max_tokens": args.max_tokens},
        "simulations": args.games, "seed": 5, "out_dir": out, "run_id": tag,
        "progress": False,
    }


class Harness:
    """Makes fresh backends over one loaded model, and clears caches between phases."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.engine = None
        if kind == "vllm":
            from societas.simulator.backends.vllm import VLLMEngine, VLLMOptions

            self.engine = VLLMEngine(VLLMOptions())
            started = time.perf_counter()
            self.engine.start()
            self.startup_s = time.perf_counter() - started
        else:
            self.startup_s = 0.0

    def backend(self) -> Backend:
        if self.kind == "vllm":
            from societas.simulator.backends.vllm import VLLMBackend

            self.engine.reset_prefix_cache()
            return VLLMBackend(engine=self.engine)
        from societas.simulator.backends.transformers import TransformersBackend

        return TransformersBackend()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()


def through_engine(harness: Harness, args: argparse.Namespace, out: str, tag: str
                   ) -> tuple[Phase, Recording]:
    recording = Recording(harness.backend())
    result = simulator.run(config(args, out, tag), model_backend=recording)
    tokens = sum(r.tokens_out for r in recording.responses)
    return Phase("(b) through the engine", len(recording.responses), tokens,
                 result.wall_s), recording


async def replay(backend: Backend, batches: list[list[Request]], label: str) -> Phase:
    async with backend:
        started = time.perf_counter()
        tokens = count = 0
        for batch in batches:
            for response in await backend.generate(batch):
                tokens += response.tokens_out
                count += 1
        return Phase(label, count, tokens, time.perf_counter() - started)


def measure(kind: str, args: argparse.Namespace) -> None:
    args.backend_name = kind
    harness = Harness(kind)
    try:
        with tempfile.TemporaryDirectory() as out:
            _, recorded = through_engine(harness, args, out, "warm-up")
            batches = recorded.batches
            raw = asyncio.run(replay(harness.backend(), batches, "(a) raw batched"))
            engine, _ = through_engine(harness, args, out, "measured")
            singles = [[r] for batch in batches for r in batch][: args.single]
            one = asyncio.run(replay(harness.backend(), singles, "(c) one at a time"))
    finally:
        harness.close()
    sizes = [len(b) for b in batches]
    print(f"\n== backend={kind}: {args.games} donor games × {args.agents} agents × "
          f"{args.generations} generation(s) × {args.rounds} rounds; {sum(sizes)} requests in "
          f"{len(sizes)} batches (mean {sum(sizes) / len(sizes):.1f}, max {max(sizes)})"
          + (f"; engine start-up {harness.startup_s:.1f} s" if harness.startup_s else ""))
    print(f"{'':28}{'requests':>9}{'tokens out':>12}{'seconds':>10}{'tokens/s':>10}")
    for phase in (raw, engine, one):
        print(f"{phase.label:28}{phase.requests:9}{phase.tokens_out:12}{phase.seconds:10.2f}"
              f"{phase.rate:10.1f}")
    print(f"(b)/(a) = {engine.rate / raw.rate:.2f}   (b)/(c) = {engine.rate / one.rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("vllm", "transformers", "both"), default="both")
    parser.add_argument("--games", type=int, default=8)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--generations", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--single", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    kinds = ("vllm", "transformers") if args.backend == "both" else (args.backend,)
    for kind in kinds:
        measure(kind, args)


if __name__ == "__main__":
    main()

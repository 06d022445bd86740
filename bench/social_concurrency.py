"""64 concurrent social-deduction games vs the same 64 games one after another, same backend.

Plays the same seeded games twice in one process: all at once (requests from every game batched
together), then one game at a time (``concurrency=1``). Prints decisions/s for both, their ratio,
backend calls and mean batch size, and checks that both runs logged identical events.

    python bench/social_concurrency.py                          # both games, scripted backend
    python bench/social_concurrency.py --scenario werewolf --games 64
    python bench/social_concurrency.py --backend vllm --set model=/models/SmolLM2 \\
        --set max_batch=256                                      # once a vLLM backend exists

With the scripted backend the agents play the ``heuristic`` baselines and the figure measures
the engine alone (CPU-bound, so concurrency gains little); with a model backend every agent is
answered by the model, and the ratio shows what batching across games buys.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from typing import Any

import numpy as np
import yaml

from societas import simulator
from societas.simulator import ConfigError, content_hash

SIZES = {"werewolf": 8, "traitors": 10}


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (values read as YAML: numbers, booleans, lists)."""
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        extra[key] = yaml.safe_load(value)
    return extra


def play(scenario: str, games: int, concurrency: int, backend: dict[str, Any], strategy: str,
         seed: int, out: str, tag: str) -> simulator.RunResult:
    config = {
        "scenario": {"name": scenario},
        "backend": backend,
        "population": {"size": SIZES[scenario], "strategy": strategy},
        "simulations": games, "concurrency": concurrency, "seed": seed, "out_dir": out,
        "run_id": f"{scenario}-{tag}", "progress": False,
    }
    return simulator.run(config)


def report(scenario: str, games: int, batched: simulator.RunResult,
           sequential: simulator.RunResult, backend: str) -> None:
    print(f"\n{scenario}: {games} games, {SIZES[scenario]} players, backend {backend}")
    print(f"  {'':34}{'wall s':>8}{'decisions':>11}{'decisions/s':>13}{'games/s':>9}"
          f"{'backend calls':>15}{'mean batch':>12}")
    rates = []
    for label, result in (("concurrent (all games at once)", batched),
                          ("sequential (one game at a time)", sequential)):
        key = "scripted" if backend == "scripted" else "model"
        sizes = result.batch_sizes.get(key) or result.batch_sizes["scripted"]
        rate = result.counters.decisions / result.wall_s
        rates.append(rate)
        print(f"  {label:34}{result.wall_s:8.2f}{result.counters.decisions:11,}{rate:13,.0f}"
              f"{games / result.wall_s:9.1f}{len(sizes):15,}{np.mean(sizes):12.1f}")
    same = content_hash(batched.run_dir) == content_hash(sequential.run_dir)
    print(f"  ratio concurrent / sequential: {rates[0] / rates[1]:.2f}x; "
          f"identical event logs: {'yes' if same else 'NO'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["werewolf", "traitors", "both"], default="both")
    parser.add_argument("--games", type=int, default=64)
    parser.add_argument("--backend", default="scripted")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="backend option, e.g. --set model=PATH (repeatable)")
    parser.add_argument("--strategy", default="heuristic",
                        help="scripted strategy of every agent (scripted backend only)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    backend = {"name": args.backend, **parse_sets(args.set)}
    scenarios = ["werewolf", "traitors"] if args.scenario == "both" else [args.scenario]
    with tempfile.TemporaryDirectory() as out:
        for scenario in scenarios:
            try:
                batched = play(scenario, args.games, args.games, backend, args.strategy,
                               args.seed, out, "concurrent")
                sequential = play(scenario, args.games, 1, backend, args.strategy, args.seed,
                                  out, "sequential")
            except ConfigError as err:
                print(f"social_concurrency: config error: {err}", file=sys.stderr)
                return 2
            report(scenario, args.games, batched, sequential, args.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())

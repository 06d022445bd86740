"""Engine overhead: 100 concurrent donor games on the scripted backend.

Prints agent-decisions/s and events/s for the batched run, the same 100 games played one at a
time (baseline, same process), the raw cost of the scripted strategy alone (the floor), and the
batch-size histogram of the batched run.

    python bench/engine_overhead.py [--games 100] [--generations 10] [--rounds 12]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter

import numpy as np

from societas import simulator
from societas.simulator.scenario import Number, RandomStrategy


def run(games: int, concurrency: int, generations: int, rounds: int, out: str, tag: str):
    config = {
        "scenario": {"name": "donor_game", "generations": generations, "rounds": rounds},
        "population": {"size": 12, "strategy": "random"},
        "simulations": games, "concurrency": concurrency, "seed": 1, "out_dir": out,
        "run_id": tag, "progress": False,
    }
    started = time.perf_counter()
    result = simulator.run(config)
    return result, time.perf_counter() - started


def strategy_floor(decisions: int) -> float:
    """Seconds/decision of the random strategy answering a donation question, nothing else."""
    strategy = RandomStrategy()
    question = Number(name="donate", prompt="How many units do you give up?", low=0, high=10,
                      reasoning=True)
    started = time.perf_counter()
    for seed in range(decisions):
        rng = np.random.Generator(np.random.PCG64(seed))
        question.parse(question.encode(strategy.answer(question, rng)))
    return (time.perf_counter() - started) / decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        rows = []
        for label, concurrency in (("batched (all games at once)", args.games),
                                   ("baseline (one game at a time)", 1)):
            result, wall = run(args.games, concurrency, args.generations, args.rounds, out,
                               label.split()[0])
            c = result.counters
            rows.append((label, wall, c.decisions, c.events, result.batch_sizes["scripted"]))
    floor = strategy_floor(20_000)
    print(f"{args.games} donor games × {args.generations} generations × {args.rounds} rounds, "
          "12 agents, scripted backend, Parquet logs on disk\n")
    print(f"{'':32}{'wall s':>8}{'decisions/s':>14}{'events/s':>12}{'backend calls':>15}"
          f"{'mean batch':>12}")
    for label, wall, decisions, events, sizes in rows:
        print(f"{label:32}{wall:8.2f}{decisions / wall:14,.0f}{events / wall:12,.0f}"
              f"{len(sizes):15,}{np.mean(sizes):12.1f}")
    batched = rows[0]
    per_decision = batched[1] / batched[2]
    print(f"\nstrategy alone (floor): {1 / floor:,.0f} decisions/s ({floor * 1e6:.1f} µs each); "
          f"engine + log overhead: {(per_decision - floor) * 1e6:.1f} µs per decision")
    hist = Counter(batched[4])
    print("\nbatch-size histogram (batched run): size × count")
    print("  " + ", ".join(f"{size}×{count}" for size, count in sorted(hist.items())))


if __name__ == "__main__":
    main()

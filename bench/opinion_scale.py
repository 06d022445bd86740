"""Opinion dynamics at scale: three figures, each beside a baseline measured in the same command.

(a) One DeGroot step on a 10,000-agent Barabási–Albert graph: our sparse step vs the same model
    written the idiomatic Mesa 3 way (agents on a ``mesa.discrete_space.Network``, ``step`` then
    ``advance`` through ``model.agents.do``), as a ratio. Mesa is not a Societas dependency;
    install it for the bench only: ``pip install mesa``. Both must give the same opinions.
(b) Wall time and peak memory of a 100,000-agent classical run through ``simulator.run`` (graph,
    population, model, Parquet log), each in a fresh process, beside the same model in bare
    numpy (graph and steps only) in a fresh process.
(c) Decisions/s of one 10,000-agent opinion round (everyone posts, everyone reports) through the
    normal batched engine: scripted DeGroot agents, and "LLM-style" agents whose prompts are
    rendered and sent to a scripted stand-in model; beside the floor of the strategy alone.

    python bench/opinion_scale.py [a|b|c ...] [--agents-b 100000] [--steps-b 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


# -- (a) one DeGroot step: ours vs Mesa 3 ----------------------------------------------------------
def mesa_model(graph, opinions: np.ndarray, seed: int):
    """DeGroot written as a Mesa 3 model: one agent per node, synchronous step/advance."""
    import mesa
    from mesa.discrete_space import FixedAgent, Network

    class Person(FixedAgent):
        def __init__(self, model, cell, opinion: float) -> None:
            super().__init__(model)
            self.cell = cell
            self.opinion = opinion
            self.next_opinion = opinion

        def step(self) -> None:
            heard = [other.opinion for other in self.cell.neighborhood.agents]
            self.next_opinion = (self.opinion + sum(heard)) / (1 + len(heard))

        def advance(self) -> None:
            self.opinion = self.next_opinion

    class DeGrootModel(mesa.Model):
        def __init__(self) -> None:
            super().__init__(seed=seed)
            self.grid = Network(graph, random=self.random)
            for node, x in zip(graph.nodes, opinions.tolist(), strict=True):
                Person(self, self.grid[node], x)

        def step(self) -> None:
            self.agents.do("step")
            self.agents.do("advance")

    return DeGrootModel()


def bench_degroot(agents: int, repeats: int) -> None:
    import networkx as nx

    from societas.scenarios.opinion.kernels import degroot_step, influence_weights
    from societas.simulator.graph import influence_matrix

    try:
        import mesa
    except ImportError:
        print("(a) skipped: Mesa is not installed; `pip install mesa` (bench only) to run it")
        return
    graph = nx.barabasi_albert_graph(agents, 3, seed=1)
    x0 = np.random.default_rng(1).uniform(size=agents)
    weights = influence_weights(influence_matrix(graph, list(graph.nodes)))
    ours = []
    x = x0
    for _ in range(repeats):
        started = time.perf_counter()
        x = degroot_step(weights, x)
        ours.append(time.perf_counter() - started)
    model = mesa_model(graph, x0, seed=1)
    theirs = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.step()
        theirs.append(time.perf_counter() - started)
    mesa_x = np.array([a.opinion for a in sorted(model.agents, key=lambda a: a.cell.coordinate)])
    same = np.allclose(mesa_x, x, atol=1e-12)
    ours_s, theirs_s = float(np.median(ours)), float(np.median(theirs))
    print(f"(a) one DeGroot step, {agents:,}-agent BA graph (m=3), median of {repeats}:")
    print(f"    societas sparse step  {ours_s * 1e3:10.3f} ms")
    print(f"    Mesa {mesa.__version__} agents      {theirs_s * 1e3:10.3f} ms")
    print(f"    ratio Mesa / societas {theirs_s / ours_s:10.0f}×   (same opinions after "
          f"{repeats} steps: {same})")


# -- (b) a 100k-agent classical run, fresh processes -----------------------------------------------
def child_engine(agents: int, steps: int, out: str) -> dict:
    from societas import simulator
    started = time.perf_counter()
    result = simulator.run({
        "scenario": {"name": "opinion_model", "model": "degroot", "steps": steps,
                     "stop_when_converged": False, "record_every": 50},
        "population": {"size": agents, "memory": 0},
        "graph": {"name": "barabasi_albert", "m": 3},
        "out_dir": out, "progress": False, "seed": 1})
    wall = time.perf_counter() - started
    return {"wall_s": wall, "events": result.counters.events}


def child_numpy(agents: int, steps: int, out: str) -> dict:
    import networkx as nx

    from societas.scenarios.opinion.kernels import degroot_step, influence_weights
    from societas.simulator.graph import influence_matrix

    started = time.perf_counter()
    graph = nx.barabasi_albert_graph(agents, 3, seed=1)
    weights = influence_weights(influence_matrix(graph, list(graph.nodes)))
    x = np.random.default_rng(1).uniform(size=agents)
    for _ in range(steps):
        x = degroot_step(weights, x)
    return {"wall_s": time.perf_counter() - started, "events": 0}


def bench_classical(agents: int, steps: int) -> None:
    rows = []
    for label, mode in (("societas run (engine + log)", "engine"),
                        ("bare numpy (graph + steps)", "numpy")):
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run([sys.executable, str(HERE), "child", mode, str(agents),
                                   str(steps), out], capture_output=True, text=True, check=True)
        rows.append((label, json.loads(done.stdout.strip().splitlines()[-1])))
    print(f"(b) DeGroot, {agents:,} agents on a BA graph (m=3), {steps} steps, fresh process "
          "each (surveys every 50 steps, one `linked` event per edge):")
    for label, row in rows:
        print(f"    {label:30} {row['wall_s']:8.2f} s wall   {row['peak_mib']:8.0f} MiB peak "
              f"RSS   {row['events']:>10,} events")


# -- (c) a 10k-agent round through the batched engine ----------------------------------------------
def bench_round(agents: int) -> None:
    from societas import simulator
    from societas.scenarios.opinion.strategies import DeGrootStrategy
    from societas.scenarios.opinion.views import Heard, UpdateView
    from societas.simulator._strategies import StrategyHandler
    from societas.simulator.backends import ScriptedBackend, register_backend
    from societas.simulator.scenario import Choice

    register_backend("stand_in", lambda cfg, **_: ScriptedBackend(
        StrategyHandler({"model": DeGrootStrategy()}), max_batch=cfg.max_batch))
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for label, backend, strategy in (
                ("scripted DeGroot agents", "scripted", "degroot"),
                ("LLM-style (prompts rendered)", "stand_in", "degroot")):
            started = time.perf_counter()
            result = simulator.run({
                "scenario": {"name": "opinion_dynamics", "exchange": "round", "steps": 1,
                             "feed": 3, "log_edges": False},
                "population": {"size": agents, "strategy": strategy, "memory": 2},
                "graph": {"name": "barabasi_albert", "m": 3},
                "backend": {"name": backend}, "out_dir": out, "run_id": backend,
                "progress": False, "seed": 1})
            wall = time.perf_counter() - started
            rows.append((label, result.counters.decisions, wall, result.batch_sizes))
    strategy = DeGrootStrategy()
    view = UpdateView(name="a", claim="x", own=0.0, anchor=0.0, low=-2, high=2,
                      heard=tuple(Heard(author="b", text="t", opinion=1.0) for _ in range(3)))
    question = Choice(name="report", prompt="?", view=view, options=[-2, -1, 0, 1, 2],
                      reasoning=True)
    n = 20_000
    started = time.perf_counter()
    for seed in range(n):
        rng = np.random.Generator(np.random.PCG64(seed))
        question.parse(question.encode(strategy.answer(question, rng)))
    floor = (time.perf_counter() - started) / n
    print(f"(c) one opinion round, {agents:,} agents on a BA graph (everyone posts, everyone "
          "reads 3 posts and reports), run wall time including graph and population set-up:")
    for label, decisions, wall, sizes in rows:
        batches = sum(len(v) for v in sizes.values())
        print(f"    {label:30} {decisions:>7,} decisions  {wall:6.2f} s  "
              f"{decisions / wall:10,.0f} decisions/s  {batches} backend calls")
    print(f"    strategy alone (floor)         {1 / floor:10,.0f} decisions/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["a", "b", "c"])
    parser.add_argument("--agents-a", type=int, default=10_000)
    parser.add_argument("--repeats-a", type=int, default=5)
    parser.add_argument("--agents-b", type=int, default=100_000)
    parser.add_argument("--steps-b", type=int, default=100)
    parser.add_argument("--agents-c", type=int, default=10_000)
    args = parser.parse_args()
    if "a" in args.parts:
        bench_degroot(args.agents_a, args.repeats_a)
    if "b" in args.parts:
        bench_classical(args.agents_b, args.steps_b)
    if "c" in args.parts:
        bench_round(args.agents_c)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        mode, agents, steps, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        row = (child_engine if mode == "engine" else child_numpy)(agents, steps, out)
        row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(row))
    else:
        main()

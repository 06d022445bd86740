"""Sweep throughput: a 32-run scripted donor-game sweep on Ray (2 CPUs) vs a sequential loop.

Prints, from one process and the same configs:

* the baseline: ``simulator.run`` called once per run, one after the other;
* the sweep played in this process (``--workers 0``): the same work plus the sweep machinery
  (expansion, layout, manifests, skip checks), whose difference is the overhead per run;
* the sweep on a local Ray with ``--cpus`` CPUs (Ray started before timing; its start-up is
  printed apart), its speed-up over the baseline, and its overhead per run against a perfect
  split of the baseline over the CPUs.

    python bench/sweep.py [--runs 32] [--cpus 2] [--simulations 4] [--generations 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from societas import simulator
from societas.simulator.sweep import expand, sweep


def overrides(args: argparse.Namespace, out: str) -> list[str]:
    return ["scenario=donor_game", f"scenario.generations={args.generations}",
            f"simulations={args.simulations}", f"seed=range({args.runs})", f"out_dir={out}"]


def sequential(args: argparse.Namespace, out: str) -> float:
    configs = [spec.config for spec in expand(overrides(args, out)).runs]
    started = time.perf_counter()
    for i, config in enumerate(configs):
        simulator.run({**config, "run_id": f"seq-{i}", "progress": False})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=32)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--simulations", type=int, default=4)
    parser.add_argument("--generations", type=int, default=10)
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        base = sequential(args, f"{tmp}/seq")
        inline = sweep(overrides(args, f"{tmp}/inline"), name="inline", workers=0,
                       progress=False)
        started = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        on_ray = sweep(overrides(args, f"{tmp}/ray"), name="ray", ray="auto", progress=False)
        rerun = sweep(overrides(args, f"{tmp}/ray"), name="ray", ray="auto", progress=False)
        ray.shutdown()
        decisions = sum(json.loads(m.read_text())["counts"]["decisions"]
                        for m in on_ray.root.rglob("manifest.json"))
    assert len(on_ray.runs) == args.runs and not on_ray.failed
    print(f"{args.runs} runs × donor game ({args.simulations} simulations × "
          f"{args.generations} generations, 12 agents), scripted backend, Parquet logs\n")
    print(f"{'':44}{'wall s':>8}{'runs/s':>9}{'decisions/s':>13}{'vs loop':>9}")
    rows = [("sequential loop of simulator.run (baseline)", base),
            ("sweep in-process (--workers 0)", inline.wall_s),
            (f"sweep on Ray, {args.cpus} CPUs (--ray auto)", on_ray.wall_s)]
    for label, wall in rows:
        print(f"{label:44}{wall:8.2f}{args.runs / wall:9.1f}{decisions / wall:13,.0f}"
              f"{base / wall:8.2f}×")
    print(f"\nRay start-up (not in the figures above): {ray_start:.2f} s")
    print(f"sweep machinery overhead, in-process: "
          f"{(inline.wall_s - base) / args.runs * 1e3:+.1f} ms per run")
    ideal = base / args.cpus
    print(f"Ray sweep overhead vs a perfect {args.cpus}-way split of the loop "
          f"({ideal:.2f} s): {(on_ray.wall_s - ideal) / args.runs * 1e3:+.0f} ms per run "
          "(task dispatch, worker imports, Ray scheduling, CPUs lost to other processes)")
    print(f"rerun of the completed sweep (all {args.runs} skipped): {rerun.wall_s:.2f} s")


if __name__ == "__main__":
    main()

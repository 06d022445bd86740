"""The scenario contract, as a check any scenario (ours or a user's) can run in its tests.

A test suite calls ``simulator.testing.check_scenario("my_scenario", tmp_path)``; the scenario's
``smoke`` metadata sizes the run.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from societas.simulator._registry import get_scenario, register_backend
from societas.simulator.backends import ScriptedBackend

JUNK_BACKEND = "testing-junk"


def smoke_config(name: str, out_dir: str | os.PathLike[str], **overrides: Any) -> dict[str, Any]:
    """A small run of scenario `name` on the scripted backend, from its `smoke` metadata."""
    config: dict[str, Any] = {"out_dir": str(out_dir), "progress": False, "simulations": 3,
                              "seed": 11, **copy.deepcopy(get_scenario(name).smoke)}
    config["scenario"] = {"name": name, **config.get("scenario", {})}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def check_scenario(name: str, out_dir: str | os.PathLike[str]) -> None:
    """Run scenario `name` small and check the engine's promises about it.

    * it terminates and every simulation logs an outcome as its last event;
    * events are well formed: JSON data, sequence numbers 0..n-1 per simulation;
    * the same seed gives an identical event log, and a different seed a different one;
    * replaying the recorded answers gives an identical event log;
    * when every answer is malformed, it still finishes on its fallbacks, each one counted.

    The scenario's ``smoke`` metadata sizes the run (and picks a graph if it needs one).
    """
    from societas.simulator._log import content_hash, read_table
    from societas.simulator._replay import replay
    from societas.simulator._run import run

    out = Path(out_dir)
    first = run(smoke_config(name, out, run_id="first"))
    again = run(smoke_config(name, out, run_id="again"))
    other = run(smoke_config(name, out, run_id="other", seed=12))
    table = read_table(first.run_dir).to_pydict()
    _check_events(name, table, first.counters.simulations)
    assert content_hash(first.run_dir) == content_hash(again.run_dir), \
        f"{name}: the same seed gave different event logs"
    assert content_hash(first.run_dir) != content_hash(other.run_dir), \
        f"{name}: seeds 11 and 12 gave the same event log"
    report = replay(first.run_dir)
    assert report.identical, f"{name}: replay differs: {report.first_difference}"

    register_backend(JUNK_BACKEND, lambda config, **_: ScriptedBackend(lambda r: "¿"))
    junk = run(smoke_config(name, out, run_id="junk", max_attempts=2, simulations=1,
                            backend={"name": JUNK_BACKEND},
                            population={"strategy": "random", "groups": []}))
    counters = junk.counters  # a scenario that asks nothing (a classical model) passes trivially
    assert counters.decisions == 0, f"{name}: {counters.decisions} junk answers were accepted"
    assert counters.parse_failures == counters.requests == 2 * counters.fallbacks, \
        f"{name}: malformed answers were not all retried once and then replaced by fallbacks"


def _check_events(name: str, table: dict[str, list[Any]], simulations: int) -> None:
    by_sim: dict[int, list[tuple[int, str]]] = {}
    for sim, seq, kind, data in zip(table["sim"], table["seq"], table["kind"], table["data"],
                                    strict=True):
        json.loads(data)
        by_sim.setdefault(sim, []).append((seq, kind))
    assert sorted(by_sim) == list(range(simulations)), f"{name}: simulations missing from the log"
    for sim, rows in by_sim.items():
        rows.sort()
        assert [seq for seq, _ in rows] == list(range(len(rows))), \
            f"{name}: simulation {sim} has gaps or duplicates in its event sequence"
        assert rows[-1][1] == "outcome", f"{name}: simulation {sim} did not end with its outcome"

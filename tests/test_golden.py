"""Golden logs: every scenario's event and call logs on fixed seeds, as first recorded.

A refactor must leave them byte-for-byte equal (content hashes, timing columns aside). Each
scenario is played three ways: its scripted smoke run, a run of its own baseline strategy, and
a run whose agents follow the model policy answered by a scripted stand-in, so that every
prompt is rendered and its hash lands in the calls log. A deliberate change of rules or
prompts updates ``tests/golden.json`` (``python tests/test_golden.py --update``) and bumps the
scenario's version in its rules docstring.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from societas.simulator import run
from societas.simulator._log import content_hash
from societas.simulator._requests import Request
from societas.simulator.backends import ScriptedBackend

GOLDEN = Path(__file__).with_name("golden.json")

SCENARIOS: dict[str, dict[str, Any]] = {
    "donor_game": {"scenario": {"generations": 2, "rounds": 4}, "population": {"size": 6}},
    "werewolf": {"population": {"size": 8}},
    "traitors": {"population": {"size": 10}},
    "debate": {"scenario": {"rounds": 2}, "population": {"size": 8}},
    "opinion_model": {"scenario": {"steps": 5}, "population": {"size": 30},
                      "graph": {"name": "barabasi_albert", "m": 2}},
    "opinion_dynamics": {"scenario": {"steps": 8}, "population": {"size": 6},
                         "graph": {"name": "complete"}},
}
BASELINES = {"werewolf": "heuristic", "traitors": "heuristic", "donor_game": "discriminator"}
CASES = [(name, "smoke") for name in SCENARIOS] + [(name, "baseline") for name in BASELINES] + [
    (name, "model") for name in SCENARIOS]


def random_model(request: Request) -> str:
    """A stand-in model: a uniformly random valid answer, seeded by the request."""
    rng = np.random.Generator(np.random.PCG64(request.seed))
    return request.question.encode(request.question.sample(rng))


def play(name: str, case: str, out: Path) -> dict[str, Any]:
    preset = SCENARIOS[name]
    config: dict[str, Any] = {**preset, "scenario": {"name": name, **preset.get("scenario", {})},
                              "seed": 11, "simulations": 3, "out_dir": str(out),
                              "run_id": f"{name}-{case}", "progress": False}
    options: dict[str, Any] = {}
    if case == "baseline":
        config["population"] = {**config["population"], "strategy": BASELINES[name]}
    elif case == "model":
        config.update(backend={"name": "openai"}, simulations=2)
        options["model_backend"] = ScriptedBackend(random_model)
    result = run(config, **options)
    return {"events": content_hash(result.run_dir), "calls": content_hash(result.run_dir, "calls"),
            "decisions": result.counters.decisions, "event_rows": result.counters.events}


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_logs_match_the_golden_record(name, case, tmp_path):
    golden = json.loads(GOLDEN.read_text())[f"{name}/{case}"]
    assert play(name, case, tmp_path) == golden, (
        f"{name} ({case}) no longer logs what it used to; if the change is deliberate, run "
        "`python tests/test_golden.py --update` and bump the scenario's version")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record = {f"{n}/{c}": play(n, c, Path(tmp)) for n, c in CASES}
    GOLDEN.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(record)} golden records to {GOLDEN}")

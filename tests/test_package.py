"""Packaging promises: a light `import societas.simulator`, and one export list per audience."""

from __future__ import annotations

import subprocess
import sys

import pytest

from societas import simulator
from societas.simulator import backends, scenario

INTERNALS = ("Engine", "RunPlan", "plan_run", "StrategyHandler", "derive_seed", "Counters",
             "MemoryLog", "RunLog", "build_backend")


def test_import_simulator_loads_no_heavy_library():
    code = ("import sys, societas.simulator, societas.agents, societas.scenarios.donor_game; "
            "heavy = [m for m in ('polars', 'ray', 'vllm', 'torch', 'transformers', 'hydra', "
            "'pyarrow') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_public_names_are_exported():
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None, name
    public = {n for n in dir(simulator) if not n.startswith("_")}
    modules = {"backends", "graph", "cli", "testing", "sweep", "models", "scenario"}
    assert public - modules - {"annotations"} <= set(simulator.__all__)


@pytest.mark.parametrize("audience", [simulator, scenario, backends],
                         ids=["experimenters", "scenario authors", "backend authors"])
def test_each_audience_module_exports_what_its_all_lists_and_no_internal(audience):
    for name in audience.__all__:
        assert getattr(audience, name) is not None, name
    assert not set(INTERNALS) & set(audience.__all__)


def test_internals_are_not_reachable_from_the_experimenters_module():
    for name in INTERNALS:
        assert not hasattr(simulator, name), name

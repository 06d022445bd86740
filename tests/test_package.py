"""Packaging promises: a light `import simulator`, and an export list that matches."""

from __future__ import annotations

import subprocess
import sys

from societas import simulator


def test_import_simulator_loads_no_heavy_library():
    code = ("import sys, societas.simulator, societas.agents, societas.scenarios.donor_game; "
            "heavy = [m for m in ('polars', 'ray', 'vllm', 'torch', 'transformers') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_public_names_are_exported():
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None, name
    public = {n for n in dir(simulator) if not n.startswith("_")}
    modules = {"backends", "graph", "cli", "testing", "sweep", "models", "scenario"}
    assert public - modules - {"annotations"} <= set(simulator.__all__)

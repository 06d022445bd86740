from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def donor_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A small scripted donor-game run config writing under `tmp_path`."""
    scenario = {"name": "donor_game", "generations": 2, "rounds": 4}
    scenario.update(overrides.pop("scenario", {}))
    population = {"size": 12, "strategy": "random"}
    population.update(overrides.pop("population", {}))
    config = {"scenario": scenario, "population": population, "out_dir": str(tmp_path),
              "progress": False, "seed": 7}
    config.update(overrides)
    return config


@pytest.fixture
def small_donor(tmp_path: Path):
    def make(**overrides: Any) -> dict[str, Any]:
        return donor_config(tmp_path, **overrides)

    return make

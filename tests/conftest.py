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


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray (2 CPUs, no dashboard) for the whole pytest session; shut down at the end.

    Any test needing Ray takes this fixture, so the cluster starts at most once per session.
    """
    import ray

    if not ray.is_initialized():
        # address="local": always a fresh Ray, never another process's `ray start` cluster
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()

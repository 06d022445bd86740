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


@pytest.fixture(scope="session")
def vllm_engine():
    """One vLLM engine with the embedded SmolLM2-135M for the whole session (start-up costs
    tens of seconds on 2 CPU cores); every model test borrows it through
    ``VLLMBackend(engine=...)``. Shut down, processes and all, when the session ends."""
    from societas.simulator.backends.vllm import VLLMEngine, VLLMOptions

    engine = VLLMEngine(VLLMOptions(max_num_seqs=64, max_model_len=4096, kv_cache_gb=1.0))
    engine.start()
    yield engine
    engine.shutdown()

"""Societas engine, for experimenters: run scenarios, replay, resume and fork runs, read logs.

Three audiences, three modules:

* experimenters: this module (`run`, `replay`, `compose_config`, the config types, the readers);
* scenario authors: `societas.simulator.scenario` (rules, questions, events, strategies);
* backend authors: `societas.simulator.backends` (requests, responses, `register_backend`).

``import societas.simulator`` stays light: the Parquet writer, Hydra and the run front door load
on first use, and no backend library (vllm, torch, ray) loads until a backend is built.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from societas.simulator._config import (
    BackendConfig,
    GraphConfig,
    Intervention,
    PolicyGroup,
    PopulationConfig,
    RunConfig,
)
from societas.simulator._errors import (
    ConfigError,
    FallbackBudgetExceeded,
    ReplayDivergence,
    RunDirectoryError,
    SimulationError,
    SocietasError,
    UntrustedManifest,
)
from societas.simulator._registry import backend_names, get_scenario, scenario_names

if _TYPE_CHECKING:
    from societas.simulator._check import CheckReport, check_run
    from societas.simulator._compose import compose_config
    from societas.simulator._log import content_hash, read_manifest, read_table
    from societas.simulator._replay import ReplayReport, fork, replay, resume
    from societas.simulator._run import RunResult, arun, run

_LAZY = {
    "run": "_run", "arun": "_run", "RunResult": "_run",
    "content_hash": "_log", "read_manifest": "_log", "read_table": "_log",
    "replay": "_replay", "resume": "_replay", "fork": "_replay", "ReplayReport": "_replay",
    "compose_config": "_compose", "check_run": "_check", "CheckReport": "_check",
}

__all__ = [
    "BackendConfig", "CheckReport", "ConfigError", "FallbackBudgetExceeded", "GraphConfig",
    "Intervention", "PolicyGroup", "PopulationConfig", "ReplayDivergence", "ReplayReport",
    "RunConfig", "RunDirectoryError", "RunResult", "SimulationError", "SocietasError",
    "UntrustedManifest", "arun", "backend_names", "check_run", "compose_config",
    "content_hash", "fork", "get_scenario", "read_manifest", "read_table", "replay", "resume",
    "run", "scenario_names",
]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'societas.simulator' has no attribute {name!r}")

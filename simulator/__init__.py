"""Societas engine: scenarios ask agents questions; the engine batches every answer.

``import simulator`` stays light: the Parquet writer and the run front door load on first use,
and no backend library (vllm, torch, ray) loads until a backend is built.
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
from societas.simulator._engine import Counters, Engine, MemoryLog
from societas.simulator._errors import ConfigError, ReplayDivergence, SimulationError
from societas.simulator._events import Event, Outcome
from societas.simulator._population import MODEL_POLICY, AgentLike, AgentSpec, Population
from societas.simulator._questions import (
    UNSET,
    AnswerError,
    Choice,
    Constraint,
    Form,
    Number,
    Question,
    Text,
)
from societas.simulator._registry import (
    backend_names,
    build_backend,
    get_scenario,
    register_backend,
    register_scenario,
    register_strategy,
    scenario_names,
)
from societas.simulator._requests import Message, Request, RequestKey, Response, Sampling
from societas.simulator._scenario import Scenario
from societas.simulator._seeding import derive_rng, derive_seed
from societas.simulator._setup import RunPlan, plan_run
from societas.simulator._sim import Sim
from societas.simulator._strategies import (
    FixedStrategy,
    RandomStrategy,
    Strategy,
    StrategyHandler,
    answers,
)
from societas.simulator.backends import Backend, ScriptedBackend

if _TYPE_CHECKING:
    from societas.simulator._log import RunLog, content_hash, read_manifest, read_table
    from societas.simulator._replay import ReplayReport, fork, replay, resume
    from societas.simulator._run import RunResult, arun, run

_LAZY = {
    "run": "_run", "arun": "_run", "RunResult": "_run",
    "RunLog": "_log", "content_hash": "_log", "read_manifest": "_log", "read_table": "_log",
    "replay": "_replay", "resume": "_replay", "fork": "_replay", "ReplayReport": "_replay",
}

__all__ = [
    "MODEL_POLICY", "UNSET", "AgentLike", "AgentSpec", "AnswerError", "Backend", "BackendConfig",
    "Choice", "ConfigError", "Constraint", "Counters", "Engine", "Event", "FixedStrategy", "Form",
    "GraphConfig", "Intervention", "MemoryLog", "Message", "Number", "Outcome", "PolicyGroup",
    "Population", "PopulationConfig", "Question", "RandomStrategy", "ReplayDivergence",
    "ReplayReport", "Request", "RequestKey", "Response", "RunConfig", "RunLog", "RunPlan",
    "RunResult", "Sampling", "Scenario", "ScriptedBackend", "Sim", "SimulationError", "Strategy",
    "StrategyHandler", "Text", "arun", "backend_names", "build_backend", "content_hash",
    "derive_rng", "derive_seed", "fork", "get_scenario", "plan_run", "read_manifest", "read_table",
    "register_backend", "register_scenario", "register_strategy", "answers", "replay", "resume",
    "run", "scenario_names",
]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'societas.simulator' has no attribute {name!r}")

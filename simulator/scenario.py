"""The API for scenario authors: rules, questions, events, agents and scripted strategies.

``from societas.simulator.scenario import Scenario, Sim, Choice, Event, ...`` is everything a
scenario module needs; `societas.simulator.testing.check_scenario` checks a new scenario against
the engine's contract. Register a scenario or a strategy with `register_scenario` /
`register_strategy` (Python) or the ``societas.scenarios`` / ``societas.strategies`` entry-point
groups (installed packages, and the ``societas`` command line).
"""

from societas.simulator._config import PopulationConfig, RunConfig
from societas.simulator._errors import ConfigError, SimulationError
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
from societas.simulator._registry import register_scenario, register_strategy
from societas.simulator._scenario import Scenario
from societas.simulator._seeding import derive_rng
from societas.simulator._sim import Sim
from societas.simulator._strategies import FixedStrategy, RandomStrategy, Strategy, answers

__all__ = [
    "MODEL_POLICY", "UNSET", "AgentLike", "AgentSpec", "AnswerError", "Choice", "ConfigError",
    "Constraint", "Event", "FixedStrategy", "Form", "Number", "Outcome", "Population",
    "PopulationConfig", "Question", "RandomStrategy", "RunConfig", "Scenario", "Sim",
    "SimulationError", "Strategy", "Text", "answers", "derive_rng", "register_scenario",
    "register_strategy",
]

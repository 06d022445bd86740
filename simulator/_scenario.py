"""The scenario contract: a pydantic `Config` and an async `run(sim)` holding the rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from societas.simulator._config import PopulationConfig, RunConfig
from societas.simulator._events import Event, Outcome
from societas.simulator._plan_checks import agent_ids
from societas.simulator._population import AgentLike, AgentSpec
from societas.simulator._strategies import Strategy

if TYPE_CHECKING:
    from societas.simulator._questions import Question
    from societas.simulator._sim import Sim


class NoConfig(BaseModel):
    """The parameters of a scenario that declares no `Config`: none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Scenario:
    """Base class of scenarios. One instance plays one simulation.

    Subclasses set `name`, `Config` (a pydantic model), `strategies` (their scripted baselines),
    `make_agent` (how an `AgentSpec` becomes an agent), declare the `events` they emit and the
    `questions` they ask, and implement `run`. Rules are pure: all randomness comes from
    ``sim.rng`` and every decision goes through ``sim.ask``.
    """

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]] = NoConfig
    """The scenario's parameters (a pydantic model; by default, none)."""
    strategies: ClassVar[tuple[type[Strategy], ...]] = ()
    make_agent: ClassVar[Callable[[AgentSpec], AgentLike]]
    events: ClassVar[tuple[type[Event], ...]] = ()
    """Every event class `run` emits (the outcome aside). When declared, `Sim.emit` refuses any
    other, and `simulator.testing.check_scenario` validates each logged event against its class."""
    questions: ClassVar[frozenset[str]] = frozenset()
    """The name (rulebook verb) of every question `run` asks. When declared, `Sim.ask` refuses
    any other, and strategies' verb tables and interventions are checked against it."""
    memory_channels: ClassVar[Mapping[str, int] | None] = None
    """Each agent's memory channels and their default bounds (``population.memory`` overrides
    them; see `simulator._setup.memory_limits`); None: one channel, ``default``, of 20 entries."""
    smoke: ClassVar[dict[str, Any]] = {}
    """Config overrides for a small, quick run (``{"scenario": {...}, "population": {...}}``),
    used by `simulator.testing.check_scenario` and smoke runs."""

    def __init__(self, config: BaseModel) -> None:
        self.config = config

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int | None:
        """An upper bound on the steps of one simulation (checked by the contract test).

        None (the default) when the scenario cannot bound it.
        """
        return None

    @classmethod
    def agent_ids(cls, config: BaseModel, run: RunConfig) -> frozenset[str] | None:
        """Every agent id a simulation may have (interventions are checked against them).

        The default: the initial population. A scenario that spawns agents adds theirs; None
        when it cannot tell.
        """
        return frozenset(agent_ids(run.population.size))

    @classmethod
    def answer_shapes(cls, config: BaseModel) -> Mapping[str, Question[Any]]:
        """The questions whose shape `config` alone decides, by name (prompt and view empty).

        A ``fixed`` strategy's answers are checked against them when a run is planned, not
        when first asked; a question whose shape depends on the game's state is left out.
        """
        return {}

    @classmethod
    def check_population(cls, config: BaseModel, population: PopulationConfig) -> None:
        """Raise `ConfigError` when the population does not suit this scenario."""

    @classmethod
    def check_run(cls, config: BaseModel, run: RunConfig) -> None:
        """Raise `ConfigError` when the run's settings (graph, backend…) do not suit it."""
        cls.check_population(config, run.population)

    async def run(self, sim: Sim) -> Outcome | BaseModel | dict[str, Any] | None:
        """Play one simulation; the return value is logged as its ``outcome`` event."""
        raise NotImplementedError

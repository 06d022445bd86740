"""`Sim`: the API a scenario's rules use to ask agents, record events and keep time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import BaseModel

from societas.simulator._events import Event
from societas.simulator._population import AgentLike, Population
from societas.simulator._questions import Question
from societas.simulator._scenario import AgentSpec

if TYPE_CHECKING:
    import networkx as nx

    from societas.simulator._engine import Engine

A = TypeVar("A")


class SimulationError(RuntimeError):
    """A simulation failed; the message says which one, at which step and phase."""


class Sim:
    """One running simulation as its scenario sees it.

    Attributes:
        index: this simulation's number within the run.
        seed: the run seed.
        rng: the simulation's only random generator, derived from (run seed, index).
        config: the scenario's validated config.
        agents: the population (agents may be added with `spawn`).
        graph: the social graph, or None when the run has none.
        step: the clock, advanced by `advance`.
        phase: the current phase name.
    """

    def __init__(self, *, engine: Engine, index: int, seed: int, rng: np.random.Generator,
                 config: BaseModel, agents: Population, graph: nx.Graph | None,
                 memory: int) -> None:
        self._engine = engine
        self.index = index
        self.seed = seed
        self.rng = rng
        self.config = config
        self.agents = agents
        self.graph = graph
        self.step = 0
        self.phase = "setup"
        self._memory = memory
        self._asked: dict[str, int] = {}
        self._slot: Any = None  # the engine's batching slot for this simulation
        self._seq = 0

    # -- time ----------------------------------------------------------------------------------
    def advance(self, phase: str | None = None) -> int:
        """Move the clock one step (optionally entering `phase`); returns the new step."""
        self.step += 1
        self._asked.clear()
        self._engine.counters.max_step = max(self._engine.counters.max_step, self.step)
        if phase is not None:
            self.phase = phase
        return self.step

    def enter(self, phase: str) -> None:
        """Enter `phase` without moving the clock."""
        self.phase = phase

    # -- asking --------------------------------------------------------------------------------
    async def ask(self, agent_id: str, question: Question[A]) -> A:
        """Ask one agent; returns its validated answer (or the question's fallback)."""
        agent = self._agent(agent_id)
        k = self._asked.get(agent_id, 0)
        self._asked[agent_id] = k + 1
        return await self._engine.answer(self, agent, question, self.step, k)

    async def ask_all(self, questions: Mapping[str, Question[Any]]) -> dict[str, Any]:
        """Ask several agents at once (batched together); answers keyed like `questions`."""
        ids = list(questions)
        answers = await asyncio.gather(*(self.ask(i, questions[i]) for i in ids))
        return dict(zip(ids, answers, strict=True))

    # -- recording and telling -----------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Record an event at the current step and phase."""
        self._engine.record_event(self, self._seq, event)
        self._seq += 1

    def tell(self, agent_ids: str | Iterable[str], text: str) -> None:
        """Add `text` to the memory of one or several agents."""
        for agent_id in [agent_ids] if isinstance(agent_ids, str) else agent_ids:
            self._agent(agent_id).remember(text)

    def brief(self, agent_ids: str | Iterable[str], text: str) -> None:
        """Set standing instructions (rules, role) for one or several agents."""
        for agent_id in [agent_ids] if isinstance(agent_ids, str) else agent_ids:
            self._agent(agent_id).brief(text)

    def spawn(self, agent_id: str, *, policy: str, persona: Mapping[str, Any] | None = None
              ) -> AgentLike:
        """Create a new agent mid-run (e.g. a new generation) and add it to `agents`."""
        spec = AgentSpec(id=agent_id, policy=policy, persona=dict(persona or {}),
                         memory=self._memory)
        agent = self._engine.make_agent(spec)
        self.agents.add(agent)
        return agent

    def where(self) -> str:
        """Where the simulation is, for error messages."""
        return f"simulation {self.index}, step {self.step} (phase {self.phase!r})"

    def _agent(self, agent_id: str) -> AgentLike:
        try:
            return self.agents[agent_id]
        except KeyError as err:
            raise SimulationError(f"{self.where()}: {err.args[0]}") from None

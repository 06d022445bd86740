"""`Sim`: the API a scenario's rules use to ask agents, record events and keep time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel

from societas.simulator._errors import SimulationError
from societas.simulator._events import Event, Outcome
from societas.simulator._population import DEFAULT_CHANNEL, AgentLike, AgentSpec, Population
from societas.simulator._questions import Question

if TYPE_CHECKING:
    import networkx as nx

A = TypeVar("A")


class Host(Protocol):
    """What a `Sim` needs from whoever runs it (the engine, one host per simulation)."""

    async def answer(self, sim: Sim, agent: AgentLike, question: Question[A], k: int) -> A:
        """The validated answer of `agent` to its `k`-th question of the current step."""
        ...

    def record(self, sim: Sim, seq: int, event: Event) -> None:
        """Log `event` as the simulation's `seq`-th event."""

    def spawn(self, spec: AgentSpec) -> AgentLike:
        """Build an agent that joins mid-run."""
        ...

    def advanced(self, step: int) -> None:
        """The simulation's clock reached `step`."""


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

    Args:
        memory: the memory bounds of agents created by `spawn` (channel → bound, or an int).
        events: the event classes the scenario declares (`Scenario.events`); when given,
            emitting any other (but the `Outcome`) is an error.
        questions: the question names the scenario declares (`Scenario.questions`); when given,
            asking any other is an error.
    """

    def __init__(self, *, host: Host, index: int, seed: int, rng: np.random.Generator,
                 config: BaseModel, agents: Population, graph: nx.Graph | None,
                 memory: int | Mapping[str, int], events: Iterable[type[Event]] = (),
                 questions: Iterable[str] = ()) -> None:
        self._host = host
        self.index = index
        self.seed = seed
        self.rng = rng
        self.config = config
        self.agents = agents
        self.graph = graph
        self.step = 0
        self.phase = "setup"
        self._memory = memory
        self._events = frozenset(events) | {Outcome} if events else frozenset()
        self._questions = frozenset(questions)
        self._asked: dict[str, int] = {}
        self._removed: dict[str, str] = {}
        self._seq = 0

    # -- time ----------------------------------------------------------------------------------
    def advance(self, phase: str | None = None) -> int:
        """Move the clock one step (optionally entering `phase`); returns the new step."""
        self.step += 1
        self._asked.clear()
        self._host.advanced(self.step)
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
        if agent_id in self._removed:
            raise SimulationError(f"{self.where()}: agent {agent_id!r} was asked "
                                  f"{question.name!r} after it left play "
                                  f"({self._removed[agent_id]})")
        if self._questions and question.name not in self._questions:
            declared = ", ".join(sorted(self._questions))
            raise SimulationError(f"{self.where()}: question {question.name!r} is not among the "
                                  f"scenario's declared questions ({declared}); add it to the "
                                  "scenario's `questions`")
        k = self._asked.get(agent_id, 0)
        self._asked[agent_id] = k + 1
        return await self._host.answer(self, agent, question, k)

    async def ask_all(self, questions: Mapping[str, Question[Any]]) -> dict[str, Any]:
        """Ask several agents at once (batched together); answers keyed like `questions`."""
        ids = list(questions)
        answers = await asyncio.gather(*(self.ask(i, questions[i]) for i in ids))
        return dict(zip(ids, answers, strict=True))

    # -- recording and telling -----------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Record an event at the current step and phase.

        Agents the event takes out of play (`Event.removes`) are never asked again.
        """
        if self._events and type(event) not in self._events:
            raise SimulationError(f"{self.where()}: {type(event).__name__} (kind "
                                  f"{event.kind!r}) is not among the scenario's declared events; "
                                  "add it to the scenario's `events`")
        self._host.record(self, self._seq, event)
        self._seq += 1
        for agent_id in event.removes():
            self._removed[agent_id] = f"{event.kind!r} at step {self.step}"

    def tell(self, agent_ids: str | Iterable[str], text: str, *,
             channel: str = DEFAULT_CHANNEL, round: int | None = None) -> None:
        """Add `text` to one memory channel of one or several agents.

        Args:
            agent_ids: who is told.
            text: what they learn.
            channel: which channel (the scenario's ``memory_channels``; by default the single
                channel of scenarios that declare none).
            round: when it was learned (kept with the note); by default the current step.
        """
        when = self.step if round is None else round
        for agent_id in [agent_ids] if isinstance(agent_ids, str) else agent_ids:
            self._agent(agent_id).remember(text, channel=channel, round=when)

    def brief(self, agent_ids: str | Iterable[str], text: str) -> None:
        """Set standing instructions (rules, role) for one or several agents."""
        for agent_id in [agent_ids] if isinstance(agent_ids, str) else agent_ids:
            self._agent(agent_id).brief(text)

    def spawn(self, agent_id: str, *, policy: str, persona: Mapping[str, Any] | None = None
              ) -> AgentLike:
        """Create a new agent mid-run (e.g. a new generation) and add it to `agents`."""
        spec = AgentSpec(id=agent_id, policy=policy, persona=dict(persona or {}),
                         memory=self._memory)
        agent = self._host.spawn(spec)
        self.agents.add(agent)
        return agent

    def in_play(self, agent_id: str) -> bool:
        """Whether `agent_id` may still be asked (no event has removed it)."""
        return agent_id not in self._removed

    def where(self) -> str:
        """Where the simulation is, for error messages."""
        return f"simulation {self.index}, step {self.step} (phase {self.phase!r})"

    def _agent(self, agent_id: str) -> AgentLike:
        try:
            return self.agents[agent_id]
        except KeyError as err:
            raise SimulationError(f"{self.where()}: {err.args[0]}") from None

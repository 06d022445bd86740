"""The agents of one simulation, with Mesa-style collection verbs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from societas.simulator._questions import Question
from societas.simulator._requests import Message

MODEL_POLICY = "model"
"""The policy name of agents answered by the run's model backend."""

DEFAULT_CHANNEL = "default"
"""The memory channel of scenarios that declare none (``Sim.tell`` writes there by default)."""


@dataclass(frozen=True)
class AgentSpec:
    """Everything needed to create one agent."""

    id: str
    policy: str
    persona: dict[str, Any] = field(default_factory=dict)
    memory: int | Mapping[str, int] = 20
    """Memory bound per channel, or one int: the bound of the single default channel."""


@runtime_checkable
class AgentLike(Protocol):
    """What the engine needs from an agent (implemented by `agents.Agent`)."""

    id: str
    policy: str

    @property
    def persona(self) -> Mapping[str, Any]:
        """Who the agent is (persona record; empty for none)."""
        ...

    def brief(self, text: str) -> None:
        """Set the agent's standing instructions (rules and role: the shared prompt prefix)."""

    def remember(self, text: str, *, channel: str = DEFAULT_CHANNEL, round: int = 0) -> None:
        """Add what the agent learned in `round` to one channel of its memory."""

    def messages(self, question: Question[Any]) -> list[Message]:
        """Render the chat conversation that asks `question`."""
        ...

    def repair(self, messages: list[Message], bad_text: str, error: str) -> list[Message]:
        """Messages that ask again after a malformed answer."""
        ...


class Population(Mapping[str, AgentLike]):
    """An ordered, id-keyed set of agents; `select` and `shuffled` return new populations."""

    def __init__(self, agents: Iterable[AgentLike] = ()) -> None:
        self._agents: dict[str, AgentLike] = {}
        for agent in agents:
            self.add(agent)

    def __getitem__(self, agent_id: str) -> AgentLike:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise KeyError(f"no agent {agent_id!r} in this simulation") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._agents)

    def __len__(self) -> int:
        return len(self._agents)

    def __repr__(self) -> str:
        return f"Population({list(self._agents)})"

    @property
    def ids(self) -> list[str]:
        """Agent ids in insertion order."""
        return list(self._agents)

    def add(self, agent: AgentLike) -> None:
        """Add an agent; its id must be new."""
        if agent.id in self._agents:
            raise ValueError(f"agent id {agent.id!r} is already in the population")
        self._agents[agent.id] = agent

    def remove(self, agent_id: str) -> AgentLike:
        """Remove and return an agent."""
        return self._agents.pop(agent_id)

    def select(self, predicate: Callable[[AgentLike], bool]) -> Population:
        """The agents for which `predicate` holds."""
        return Population(a for a in self._agents.values() if predicate(a))

    def shuffled(self, rng: np.random.Generator) -> Population:
        """The same agents in an order drawn from `rng`."""
        agents = list(self._agents.values())
        return Population(agents[i] for i in rng.permutation(len(agents)))

    def groupby(self, key: Callable[[AgentLike], Any]) -> dict[Any, Population]:
        """Split into populations by `key`, in first-seen order."""
        groups: dict[Any, list[AgentLike]] = {}
        for agent in self._agents.values():
            groups.setdefault(key(agent), []).append(agent)
        return {k: Population(v) for k, v in groups.items()}

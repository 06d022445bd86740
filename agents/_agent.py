"""`Agent`: identity, persona, bounded memory and a policy; renders questions into chat turns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from societas.agents._memory import Memory
from societas.agents._prompt import question_message, render_persona, repair_message
from societas.simulator._population import DEFAULT_CHANNEL
from societas.simulator.backends import Message
from societas.simulator.scenario import AgentSpec, Question


class Agent:
    """One member of a society.

    The system turn holds the briefing (rules and role, set by the scenario) followed by the
    persona, so agents that share a briefing share a byte-identical prompt prefix. The user turn
    holds the memory (its default channel; scenarios with channels of their own render those in
    their questions), the question and its answer format.
    """

    def __init__(self, id: str, *, policy: str, persona: Mapping[str, Any] | None = None,
                 memory: int | Mapping[str, int] = 20) -> None:
        self.id = id
        self.policy = policy
        self.persona: dict[str, Any] = dict(persona or {})
        self.memory = Memory(memory)
        self.briefing = ""

    @classmethod
    def from_spec(cls, spec: AgentSpec) -> Agent:
        """Build an agent from the engine's spec."""
        return cls(spec.id, policy=spec.policy, persona=spec.persona, memory=spec.memory)

    def __repr__(self) -> str:
        return f"Agent({self.id!r}, policy={self.policy!r})"

    def brief(self, text: str) -> None:
        """Set the standing instructions (the shared prompt prefix)."""
        self.briefing = text

    def remember(self, text: str, *, channel: str = DEFAULT_CHANNEL, round: int = 0) -> None:
        """Add what the agent learned in `round` to one channel of its memory."""
        self.memory.add(text, channel=channel, round=round)

    def system_prompt(self) -> str:
        """Briefing, then persona."""
        return "\n\n".join(p for p in (self.briefing, render_persona(self.persona)) if p)

    def messages(self, question: Question[Any]) -> list[Message]:
        """The conversation that asks `question`."""
        turns: list[Message] = []
        system = self.system_prompt()
        if system:
            turns.append({"role": "system", "content": system})
        turns.append({"role": "user", "content": question_message(question, self.memory.texts())})
        return turns

    def repair(self, messages: list[Message], bad_text: str, error: str) -> list[Message]:
        """The conversation asking again after a malformed answer."""
        return [*messages, {"role": "assistant", "content": bad_text},
                {"role": "user", "content": repair_message(error)}]

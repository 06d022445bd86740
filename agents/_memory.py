"""An agent's memory: named channels of `Note`s, each keeping only its most recent entries.

A scenario that renders no memory of its own writes to the one default channel (``sim.tell``),
shown to the model as "What you remember". Scenarios that show memory in their own prompts
(Werewolf, The Traitors) declare their channels and default bounds as the scenario class
attribute ``memory_channels``; ``population.memory`` overrides the bounds (see
`societas.simulator._setup.memory_limits`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from societas.simulator._population import DEFAULT_CHANNEL


@dataclass(frozen=True, slots=True)
class Note:
    """One memory entry: something the agent learned in `round`."""

    round: int
    text: str

    @property
    def quoted(self) -> str:
        """The text as one JSON string literal (for entries a player wrote itself)."""
        return json.dumps(self.text, ensure_ascii=False)


MemorySnapshot = Mapping[str, tuple[Note, ...]]
"""Every channel's notes (oldest first) at one moment; read-only."""


class Memory:
    """Bounded channels of notes: each keeps its most recent ``limit`` entries (0 keeps none).

    Args:
        limits: channel → bound, or one int: the bound of the single default channel.
    """

    def __init__(self, limits: int | Mapping[str, int] = 20) -> None:
        limits = {DEFAULT_CHANNEL: limits} if isinstance(limits, int) else dict(limits)
        for channel, limit in limits.items():
            if limit < 0:
                raise ValueError(f"memory limit of channel {channel!r} must be >= 0, got {limit}")
        self.limits: dict[str, int] = limits
        self._channels: dict[str, deque[Note]] = {c: deque(maxlen=k) for c, k in limits.items()}
        self._snapshot: MemorySnapshot | None = None

    def add(self, text: str, *, channel: str = DEFAULT_CHANNEL, round: int = 0) -> None:
        """Remember `text` learned in `round`, forgetting the channel's oldest entry when full."""
        self._channel(channel).append(Note(round, text))
        self._snapshot = None

    def notes(self, channel: str = DEFAULT_CHANNEL) -> tuple[Note, ...]:
        """One channel's notes, oldest first."""
        return tuple(self._channel(channel))

    def texts(self, channel: str = DEFAULT_CHANNEL) -> Iterator[str]:
        """One channel's texts, oldest first (nothing when the agent has no such channel)."""
        return (note.text for note in self._channels.get(channel, ()))

    def snapshot(self) -> MemorySnapshot:
        """Every channel's notes as of now (cached until the memory changes)."""
        if self._snapshot is None:
            self._snapshot = MappingProxyType(
                {channel: tuple(notes) for channel, notes in self._channels.items()})
        return self._snapshot

    def __iter__(self) -> Iterator[str]:
        return self.texts()

    def __len__(self) -> int:
        return len(self._channels.get(DEFAULT_CHANNEL, ()))

    def clear(self) -> None:
        """Forget everything, in every channel."""
        for notes in self._channels.values():
            notes.clear()
        self._snapshot = None

    def _channel(self, channel: str) -> deque[Note]:
        try:
            return self._channels[channel]
        except KeyError:
            raise ValueError(f"this memory has no channel {channel!r}; its channels: "
                           f"{', '.join(self._channels)}") from None

"""The table of a social-deduction game: seats, secret roles, who is alive, what each one knows.

What players say is kept apart from what the moderator says: speeches are `Line`s, rendered as
quoted data under the speaker's name, and never enter the announcements, the private
observations or the game state. Only the rules write those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from societas.agents import Memory, MemorySnapshot
from societas.scenarios.social_deduction.config import ANNOUNCEMENTS, OBSERVATIONS, SUMMARIES


@dataclass(frozen=True, slots=True)
class Line:
    """One thing a player said, in `round`; `text` is the player's own words (untrusted)."""

    round: int
    speaker: str
    text: str

    @property
    def quoted(self) -> str:
        """The words as one JSON string literal.

        Quotes and line breaks are escaped, so a speech can never start a line of its own in a
        prompt (a fake "Moderator:" line stays inside the speaker's quotes).
        """
        return json.dumps(self.text, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Public:
    """What everyone can see at the moment of asking (a snapshot)."""

    round: int
    alive: tuple[str, ...]
    speeches: tuple[Line, ...]
    today: tuple[Line, ...]


class Table:
    """Seats, secret roles and speeches of one game.

    What players learn goes into their memories (the agents' own, in the channels of
    `config.MEMORY_CHANNELS`); the table keeps no second copy. The public snapshot is cached
    until the state it shows changes, because a phase asks many players about the same state
    (each memory caches its own snapshot likewise).

    Args:
        roles: player → role, in seat order.
        sides: role → side (``"werewolves"``, ``"villagers"``, ``"traitors"``, …).
        memories: player → its memory (see `moderator.open_table`).
    """

    def __init__(self, roles: Mapping[str, str], sides: Mapping[str, str],
                 memories: Mapping[str, Memory]) -> None:
        self.players: tuple[str, ...] = tuple(roles)
        self.roles: dict[str, str] = dict(roles)
        self.sides: dict[str, str] = {p: sides[r] for p, r in roles.items()}
        self.alive: list[str] = list(self.players)
        self._round = 0
        self.memories: dict[str, Memory] = {p: memories[p] for p in self.players}
        self.speeches: tuple[Line, ...] = ()
        self._public: Public | None = None

    @property
    def round(self) -> int:
        """The current round (0 before the first)."""
        return self._round

    @round.setter
    def round(self, value: int) -> None:
        self._round = value
        self._public = None

    # -- who is where --------------------------------------------------------------------------
    def side(self, player: str) -> str:
        """The side `player` plays for."""
        return self.sides[player]

    def is_alive(self, player: str) -> bool:
        """Whether `player` is still in the game."""
        return player in self.alive

    def members(self, side: str, *, alive: bool = True) -> list[str]:
        """Players of `side` in seat order (only alive ones by default)."""
        pool = self.alive if alive else self.players
        return [p for p in pool if self.sides[p] == side]

    def with_role(self, role: str) -> list[str]:
        """Alive players holding `role`, in seat order."""
        return [p for p in self.alive if self.roles[p] == role]

    def count(self, side: str) -> int:
        """How many alive players are on `side`."""
        return sum(1 for p in self.alive if self.sides[p] == side)

    def eliminate(self, player: str) -> None:
        """Take `player` out of the game."""
        if player not in self.alive:
            raise ValueError(f"{player!r} is not alive (alive: {self.alive})")
        self.alive.remove(player)
        self._public = None

    # -- what players know ---------------------------------------------------------------------
    def announce(self, text: str) -> None:
        """A public moderator announcement (into every player's memory)."""
        for memory in self.memories.values():
            memory.add(text, channel=ANNOUNCEMENTS, round=self.round)

    def observe(self, players: str | Iterable[str], text: str) -> None:
        """A private observation for one or several players."""
        for player in [players] if isinstance(players, str) else players:
            self.memories[player].add(text, channel=OBSERVATIONS, round=self.round)

    def note(self, player: str, text: str) -> None:
        """A summary the player wrote for itself."""
        self.memories[player].add(text, channel=SUMMARIES, round=self.round)

    def speak(self, speaker: str, text: str) -> Line:
        """Record a public speech; returns it as a `Line`."""
        line = Line(self.round, speaker, text)
        self.speeches = (*self.speeches, line)
        self._public = None
        return line

    def spoken_this_round(self) -> tuple[Line, ...]:
        """Public speeches of the current round."""
        return tuple(line for line in self.speeches if line.round == self.round)

    def public(self) -> Public:
        """A snapshot of what everyone can see now."""
        if self._public is None:
            self._public = Public(self.round, tuple(self.alive), self.speeches,
                                  self.spoken_this_round())
        return self._public

    def memory(self, player: str) -> MemorySnapshot:
        """A snapshot of what `player` remembers now (channel → notes)."""
        return self.memories[player].snapshot()

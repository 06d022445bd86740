"""What a Werewolf player knows when asked: typed views read by prompts and scripted strategies.

Views are frozen dataclasses built from the table at the moment of asking; a view never holds a
reference to mutable game state.
"""

from __future__ import annotations

from dataclasses import dataclass

from societas.agents import MemorySnapshot
from societas.scenarios.social_deduction import Line


@dataclass(frozen=True, slots=True)
class Seat:
    """What every question to a player carries.

    Attributes:
        me: the player asked.
        role: its role (config name, e.g. ``"seer"``).
        round: the current round (from 1).
        alive: alive players in seat order.
        team: the other werewolves (werewolves only; alive or not).
        known: (player, role) pairs the player learned privately (a seer's findings).
        speeches: every public speech of the game so far.
        today: this round's debate so far.
        memory: the player's memory channels (announcements, private observations,
            own notes) as of now, for prompts.
    """

    me: str
    role: str
    round: int
    alive: tuple[str, ...]
    team: tuple[str, ...]
    known: tuple[tuple[str, str], ...]
    speeches: tuple[Line, ...]
    today: tuple[Line, ...]
    memory: MemorySnapshot


@dataclass(frozen=True, slots=True)
class TargetView:
    """A choice of one player: attack, protect, guard, inspect, poison or vote.

    ``victim`` is tonight's attacked player (shown to the witch only); ``turn`` and ``final``
    say which poll a vote belongs to.
    """

    seat: Seat
    options: tuple[str, ...]
    victim: str | None = None
    turn: int | None = None
    final: bool = True


@dataclass(frozen=True, slots=True)
class DebateView:
    """Bidding for the floor, or speaking once it is yours."""

    seat: Seat
    turn: int
    turns: int
    last_speaker: str | None


@dataclass(frozen=True, slots=True)
class SummaryView:
    """Summarizing the day into memory."""

    seat: Seat

"""What a Traitors player knows when asked: typed views read by prompts and scripted strategies."""

from __future__ import annotations

from dataclasses import dataclass

from societas.agents import MemorySnapshot
from societas.scenarios.social_deduction import Line


@dataclass(frozen=True, slots=True)
class Seat:
    """What every question to a player carries.

    Attributes:
        me: the player asked.
        role: ``traitor`` or ``faithful``.
        round: the current round (from 1).
        number: the player's seat number (0-based, fixed for the game).
        alive: alive players in seat order.
        team: the other traitors (traitors only; alive or not).
        traitors: how many traitors the game started with (everyone knows it).
        gone: (player, revealed role or None) for everyone out of the game, in order.
        speeches: every public speech of the game so far (never the secret meeting).
        memory: the player's memory channels (announcements, private observations,
            own notes) as of now, for prompts.
    """

    me: str
    role: str
    round: int
    number: int
    alive: tuple[str, ...]
    team: tuple[str, ...]
    traitors: int
    gone: tuple[tuple[str, str | None], ...]
    speeches: tuple[Line, ...]
    memory: MemorySnapshot


@dataclass(frozen=True, slots=True)
class TalkView:
    """Speaking: in a discussion pass, a reaction or the secret meeting.

    ``heard`` is what this speech responds to (the discussion so far, the first pass, the
    meeting so far); ``position`` is the speaker's place in this pass; ``banished`` and its
    ``revealed`` role are set after a banishment; ``consensus`` marks the meeting's second
    stage (conclusions after all proposals).
    """

    seat: Seat
    heard: tuple[Line, ...]
    position: int
    banished: str | None = None
    revealed: str | None = None
    consensus: bool = False


@dataclass(frozen=True, slots=True)
class BallotView:
    """Voting: whom to banish, or (traitors) whom to murder; ``heard`` is the relevant talk."""

    seat: Seat
    options: tuple[str, ...]
    heard: tuple[Line, ...]

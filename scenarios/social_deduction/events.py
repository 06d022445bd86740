"""Events every social-deduction game records, so that timelines and metrics read alike."""

from __future__ import annotations

from typing import ClassVar

from societas.simulator.scenario import Event


class RoleAssigned(Event):
    """A player's secret role at the start of the game (``actor``), with the teammates it knows."""

    kind: ClassVar[str] = "role_assigned"
    role: str
    side: str
    policy: str
    team: list[str] = []


class Announced(Event):
    """A public moderator announcement, word for word as the players read it."""

    kind: ClassVar[str] = "announced"
    round: int
    text: str


class Voted(Event):
    """One vote: ``actor`` voted for ``target`` on a ballot of the given kind.

    ``final`` is False for a straw poll that does not count (Werewolf Arena's synthetic votes
    after each debate turn); ``turn`` is then the debate turn it followed.
    """

    kind: ClassVar[str] = "voted"
    round: int
    ballot: str
    final: bool = True
    turn: int | None = None


class Summarized(Event):
    """A player's private summary of a phase, kept in its memory."""

    kind: ClassVar[str] = "summarized"
    round: int
    summary: str

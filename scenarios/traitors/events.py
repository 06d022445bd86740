"""The Traitors' events, one per rulebook verb (shared ones come from `social_deduction.events`).

Every vote, round table and murder alike, is a ``voted`` event; its ``ballot`` is ``banish`` or
``murder`` (the reference code's Vote_Type General and Traitor).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from societas.simulator.scenario import Event


class Discussed(Event):
    """``actor`` spoke in the first discussion pass on the round's topic."""

    kind: ClassVar[str] = "discussed"
    round: int
    topic: int
    say: str


class Reacted(Event):
    """``actor`` reacted to the discussion or to the banished player's revealed role."""

    kind: ClassVar[str] = "reacted"
    round: int
    after: Literal["discussion", "banishment"]
    say: str


class Banished(Event):
    """The round table banished ``target`` (None: nobody); the role is revealed to all."""

    kind: ClassVar[str] = "banished"
    round: int
    role: str | None
    counts: dict[str, int]
    reason: str

    def removes(self) -> tuple[str, ...]:
        return (self.target,) if self.target else ()


class Plotted(Event):
    """A traitor spoke in the secret meeting (``stage``: proposal, then consensus)."""

    kind: ClassVar[str] = "plotted"
    round: int
    stage: Literal["proposal", "consensus"]
    say: str


class Murdered(Event):
    """The traitors murdered ``target`` (a faithful); the role is not announced."""

    kind: ClassVar[str] = "murdered"
    round: int
    counts: dict[str, int]
    reason: str

    def removes(self) -> tuple[str, ...]:
        return (self.target,) if self.target else ()

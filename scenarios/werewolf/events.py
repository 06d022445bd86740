"""Werewolf events, one per rulebook verb (shared ones come from `social_deduction.events`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from societas.simulator.scenario import Event


class Attacked(Event):
    """The chosen werewolf (``actor``) picked tonight's victim (``target``)."""

    kind: ClassVar[str] = "attacked"
    round: int


class Protected(Event):
    """The doctor protected ``target`` tonight."""

    kind: ClassVar[str] = "protected"
    round: int


class Guarded(Event):
    """A guard guarded ``target`` tonight."""

    kind: ClassVar[str] = "guarded"
    round: int


class Inspected(Event):
    """The seer inspected ``target`` and privately learned its role."""

    kind: ClassVar[str] = "inspected"
    round: int
    role: str


class Healed(Event):
    """The witch spent her healing potion on tonight's victim."""

    kind: ClassVar[str] = "healed"
    round: int


class Poisoned(Event):
    """The witch spent her poison on ``target``."""

    kind: ClassVar[str] = "poisoned"
    round: int


class Killed(Event):
    """``target`` died during the night (role not announced)."""

    kind: ClassVar[str] = "killed"
    round: int
    cause: Literal["attack", "poison"]

    def removes(self) -> tuple[str, ...]:
        return (self.target,) if self.target else ()


class Bid(Event):
    """One bidding round before a debate turn; ``actor`` won the floor."""

    kind: ClassVar[str] = "bid"
    round: int
    turn: int
    bids: dict[str, int]


class Debated(Event):
    """``actor`` spoke in the debate; ``say`` is its public statement, word for word."""

    kind: ClassVar[str] = "debated"
    round: int
    turn: int
    say: str


class Exiled(Event):
    """The day's vote: ``target`` was exiled, or None when no one was (role not announced)."""

    kind: ClassVar[str] = "exiled"
    round: int
    counts: dict[str, int]
    reason: str

    def removes(self) -> tuple[str, ...]:
        return (self.target,) if self.target else ()

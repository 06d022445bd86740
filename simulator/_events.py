"""Typed events: what a simulation records, in the order the rules produce it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """Base class of scenario events.

    Subclasses set the class variable `kind` (the rulebook verb, e.g. ``"donated"``) and declare
    their fields; ``actor`` and ``target`` become log columns, every other field goes to the
    ``data`` JSON column.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str] = "event"
    actor: str | None = None
    target: str | None = None

    def removes(self) -> tuple[str, ...]:
        """Agents this event takes out of play (eliminated, exiled, not selected).

        The engine refuses to ask them anything afterwards; by default, nobody.
        """
        return ()

    def data(self) -> dict[str, Any]:
        """The event's fields other than actor and target, as JSON-compatible values."""
        return self.model_dump(mode="json", exclude=_COLUMNS)

    def data_json(self) -> str:
        """`data` as a JSON string (fields in declaration order)."""
        return self.model_dump_json(exclude=_COLUMNS)


_COLUMNS = {"actor", "target"}


class Outcome(Event):
    """The value a scenario's `run` returns, logged as the simulation's last event."""

    kind: ClassVar[str] = "outcome"
    model_config = ConfigDict(frozen=True, extra="allow")

    if TYPE_CHECKING:  # extra="allow": any keyword is a field (pydantic's checker sees none)
        def __init__(self, *, actor: str | None = None, target: str | None = None,
                     **data: Any) -> None: ...

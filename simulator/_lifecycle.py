"""A three-state lifecycle shared by the engine, backends and log writers."""

from __future__ import annotations

from enum import Enum


class State(Enum):
    """Where a resource is in its life: it opens once and closes once."""

    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class Lifecycle:
    """Mixin enforcing unopened → open → closed, with a one-sentence error on misuse."""

    _state: State = State.UNOPENED

    def _mark_open(self) -> None:
        if self._state is not State.UNOPENED:
            raise RuntimeError(f"{type(self).__name__} was already {self._state.value}; "
                               "create a new one instead of reusing it.")
        self._state = State.OPEN

    def _require_open(self) -> None:
        if self._state is not State.OPEN:
            raise RuntimeError(f"{type(self).__name__} is {self._state.value}; use it inside "
                               "`async with` (or call open() first).")

    def _mark_closed(self) -> bool:
        """Mark closed; returns False when it was already closed (closing twice is harmless)."""
        was_open = self._state is State.OPEN
        self._state = State.CLOSED
        return was_open

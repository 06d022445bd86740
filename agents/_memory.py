"""Bounded agent memory: the last k entries."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator


class Memory:
    """Keeps the most recent `limit` entries (``limit=0`` keeps nothing)."""

    def __init__(self, limit: int = 20) -> None:
        if limit < 0:
            raise ValueError(f"memory limit must be >= 0, got {limit}")
        self.limit = limit
        self._entries: deque[str] = deque(maxlen=limit)

    def add(self, text: str) -> None:
        """Remember `text`, forgetting the oldest entry when full."""
        if self.limit:
            self._entries.append(text)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

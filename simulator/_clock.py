"""Wall-clock time for log rows (the only non-deterministic column)."""

from __future__ import annotations

import datetime as dt


def now_utc() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)

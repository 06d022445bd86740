"""Numbers out of polars aggregates (`Series.mean()`, `.min()`…), which are typed as any scalar."""

from __future__ import annotations


def number(value: object) -> float:
    """`value` when it is a number (an int stays an int); TypeError for None or anything else."""
    if isinstance(value, int | float):
        return value
    raise TypeError(f"expected a number, got {value!r}")


def number_or_none(value: object) -> float | None:
    """`value` when it is a number, None when it is None (an empty or all-null aggregate)."""
    return None if value is None else number(value)

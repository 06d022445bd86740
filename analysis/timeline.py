"""A readable timeline of a run: rounds, phases, who did what to whom.

Each scenario's registered analysis (`ScenarioAnalysis.timeline`, see `analysis._registry`)
maps event kinds to a format string over the event's fields (``actor``, ``target`` and the
``data`` keys) or to a function of them. Kinds without an entry, and scenarios without an
analysis, are shown generically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from societas.analysis._registry import Describer, analysis_for
from societas.analysis.load import events, manifest
from societas.simulator._display import one_line

_HIDDEN = {"outcome"}


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    sim: int
    step: int
    phase: str
    kind: str
    text: str


def describers(scenario: str) -> Mapping[str, Describer]:
    """The scenario's timeline table (empty when it has no registered analysis)."""
    analysis = analysis_for(scenario)
    return analysis.timeline if analysis is not None else {}


def describe(kind: str, fields: dict[str, Any], table: Mapping[str, Describer]) -> str:
    """One event in words."""
    how = table.get(kind)
    if callable(how):
        return how(fields)
    if isinstance(how, str):
        try:
            return how.format(**fields)
        except (KeyError, ValueError, IndexError):
            pass
    who = fields.get("actor") or ""
    to = f" → {fields['target']}" if fields.get("target") else ""
    data = {k: v for k, v in fields.items() if k not in ("actor", "target")}
    shown = ", ".join(f"{k}={_short(v)}" for k, v in data.items())
    return f"{who} {kind}{to}" + (f" ({shown})" if shown else "")


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def timeline(run_dir: str | os.PathLike[str], *, agent: str | None = None,
             sim: int | None = None, first_step: int | None = None,
             last_step: int | None = None) -> Iterator[Entry]:
    """The run's events in order, described, filtered by agent, simulation and step range."""
    frame = events(run_dir)
    if agent is not None:
        frame = frame.filter((pl.col("actor") == agent) | (pl.col("target") == agent))
    if sim is not None:
        frame = frame.filter(pl.col("sim") == sim)
    if first_step is not None:
        frame = frame.filter(pl.col("step") >= first_step)
    if last_step is not None:
        frame = frame.filter(pl.col("step") <= last_step)
    rows = frame.sort("sim", "seq").select("sim", "step", "phase", "kind", "actor", "target",
                                            "data").collect()
    table = describers(manifest(run_dir)["scenario"])
    for row in rows.iter_rows(named=True):
        if row["kind"] in _HIDDEN:
            continue
        fields = {"actor": row["actor"], "target": row["target"], **json.loads(row["data"])}
        yield Entry(row["sim"], row["step"], row["phase"], row["kind"],
                    describe(row["kind"], fields, table))


def render(entries: Iterator[Entry], console: Any) -> int:
    """Print entries to a rich console, one heading per simulation and step; returns the count.

    Everything shown from the log (phase, actors, agents' words) is plain text through
    `one_line`: no control character reaches the terminal, nothing is read as markup, and each
    entry is one line of text (a line break in a speech shows as ``⏎``), indented under its
    heading even where the console wraps it, and only headings start at the margin.
    """
    from rich.padding import Padding
    from rich.rule import Rule
    from rich.text import Text

    current: tuple[int, int, str] | None = None
    count = 0
    for entry in entries:
        where = (entry.sim, entry.step, entry.phase)
        if where != current:
            if current is None or current[0] != entry.sim:
                console.print(Rule(Text(f"simulation {entry.sim}"), style="bold"))
            console.print(_heading(entry.step, entry.phase))
            current = where
        console.print(Padding(Text(one_line(entry.text)), (0, 0, 0, 2), expand=False))
        count += 1
    return count


def _heading(step: int, phase: str) -> Any:
    """``step N · phase``: the phase as plain text, wrapping in a column of its own.

    So no wrapped line of a long phase starts at the margin, where only headings do.
    """
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold cyan")
    grid.add_column(style="dim", overflow="fold")
    grid.add_row(Text(f"step {step}"), Text(f"· {one_line(phase)}"))
    return grid

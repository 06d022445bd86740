"""The rows of a run's logs: one typed tuple per event and per call, declaring every column once.

`EventRow` and `CallRow` are the only declaration of the log columns. Each field's annotation
names its Arrow type (``Int32``, ``String`` …), ``| None`` marks a column that may be null, and
`Varies` marks one that may differ between two runs recording the same thing (run id, wall
time, batching). `simulator._log` derives the Parquet schemas from them; writers build rows
through them and readers turn tables back into them, so the order of the fields is the order of
the columns on disk.

Rows are named tuples: built at tuple speed on the engine's hot path, and a buffer of rows turns
into columns with one ``zip(*rows)``. This module imports no engine code and no pyarrow, so
`analysis` may use it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from types import NoneType, UnionType
from typing import Annotated, Any, NamedTuple, Protocol, TypeVar, Union, get_args, get_origin
from typing import get_type_hints as _type_hints

#: Marks a column whose value may differ between two runs that recorded the same thing: left
#: out of content hashes.
VARIES = "varies"

String = Annotated[str, "string"]
Int32 = Annotated[int, "int32"]
Int64 = Annotated[int, "int64"]
Float64 = Annotated[float, "float64"]
Bool = Annotated[bool, "bool"]
Timestamp = Annotated[dt.datetime, "timestamp[us, UTC]"]


class EventRow(NamedTuple):
    """One event of one simulation, as logged in ``events/*.parquet``."""

    run_id: Annotated[String, VARIES]
    """The run that logged it."""
    sim: Int32
    """Which simulation of the run (0-based)."""
    seq: Int64
    """Its position in that simulation's event sequence (0, 1, 2 …)."""
    step: Int32
    """The simulation's clock when it happened."""
    phase: String
    """The phase the simulation was in (a rulebook verb, e.g. ``"vote"``)."""
    kind: String
    """The event class's `kind` (``"donated"``, ``"outcome"`` …)."""
    actor: String | None
    """The agent who acted, if any."""
    target: String | None
    """The agent acted upon, if any."""
    data: String
    """Every other field of the event, as a JSON object."""
    wall_time: Annotated[Timestamp, VARIES]
    """When it was logged (UTC)."""


class CallRow(NamedTuple):
    """One attempt at answering one question, as logged in ``calls/*.parquet``.

    Scripted strategies, models, replayed records and interventions all log the same row; a
    question answered on the third try has three rows (``attempt`` 0, 1, 2).
    """

    run_id: Annotated[String, VARIES]
    """The run that logged it."""
    sim: Int32
    """Which simulation asked."""
    agent: String
    """Who was asked."""
    step: Int32
    """The simulation's clock when asked."""
    k: Int32
    """Which question of that agent at that step (0-based)."""
    attempt: Int32
    """Which try (0-based); later tries follow a malformed answer."""
    question: String
    """The question's name."""
    policy: String
    """The agent's policy: a strategy name, ``"model"``, or ``"intervention"``."""
    backend: String
    """The backend that answered (``"scripted"``, ``"vllm"`` …, or ``"intervention"``)."""
    seed: Int64
    """The request's sampling seed."""
    prompt_hash: String | None
    """Hash of what the model was shown; None when no model was asked."""
    messages: String | None
    """The conversation the model was shown, as JSON; None when no model was asked."""
    raw_text: String
    """The answer's text as the backend returned it."""
    answer: String | None
    """The parsed answer as JSON (the fallback's when it was used); None when it did not parse."""
    error: String | None
    """Why the answer was rejected; None when it parsed."""
    fallback: Bool
    """Whether the scenario's fallback answer replaced it (after the last failed try)."""
    option_logprobs: String | None
    """Each option's log-probability (JSON), for choices scored option by option."""
    tokens_in: Int32
    """Prompt tokens."""
    tokens_out: Int32
    """Generated tokens."""
    cached_tokens: Annotated[Int32, VARIES]
    """Prompt tokens served from cache (depends on what ran before on the same engine)."""
    latency_s: Annotated[Float64, VARIES]
    """Seconds the answering batch took."""
    batch_id: Annotated[Int64, VARIES]
    """Which backend batch answered (-1 for interventions)."""
    batch_size: Annotated[Int32, VARIES]
    """How many requests that batch held."""
    wall_time: Annotated[Timestamp, VARIES]
    """When it was logged (UTC)."""


Row = TypeVar("Row", EventRow, CallRow)

#: The log tables, by folder name.
TABLES: dict[str, type[EventRow] | type[CallRow]] = {"events": EventRow, "calls": CallRow}

#: The fields that identify an event within a run, and those that must match on re-execution.
EVENT_KEY = ("sim", "seq")
EVENT_CONTENT = ("step", "phase", "kind", "actor", "target", "data")
#: The fields that identify a call within a run.
CALL_KEY = ("sim", "agent", "step", "k", "attempt")

event_key = attrgetter(*EVENT_KEY)
"""``(sim, seq)`` of an event row."""
event_content = attrgetter(*EVENT_CONTENT)
"""The part of an event row that re-executing a run must reproduce exactly."""
call_key = attrgetter(*CALL_KEY)
"""``(sim, agent, step, k, attempt)`` of a call row."""


class LogSink(Protocol):
    """Where the engine writes rows (`RunLog`, or `MemoryLog` in tests)."""

    def event(self, row: EventRow) -> None:
        """Append an event row."""

    def call(self, row: CallRow) -> None:
        """Append a call row."""


@dataclass(frozen=True, slots=True)
class Column:
    """One log column as its row type declares it."""

    name: str
    arrow_type: str
    """The Arrow type's name (``"int32"``, ``"timestamp[us, UTC]"`` …)."""
    nullable: bool
    varies: bool
    """Whether it may differ between two runs that recorded the same thing."""


@functools.cache
def columns(row_type: type[EventRow] | type[CallRow]) -> tuple[Column, ...]:
    """The columns of a row type, in field order, read from its annotations."""
    hints = _type_hints(row_type, include_extras=True)
    return tuple(_column(name, hints[name]) for name in row_type._fields)


def _column(name: str, hint: Any) -> Column:
    nullable = get_origin(hint) in (Union, UnionType) and NoneType in get_args(hint)
    if nullable:
        (hint,) = (arg for arg in get_args(hint) if arg is not NoneType)
    marks = hint.__metadata__ if get_origin(hint) is Annotated else ()
    kinds = [mark for mark in marks if mark != VARIES]
    if len(kinds) != 1:
        raise TypeError(f"log column {name!r} is annotated {hint!r}; declare it with one of "
                        "the column types of simulator/_rows.py (String, Int32 …)")
    return Column(name, kinds[0], nullable, VARIES in marks)


def varying_columns() -> frozenset[str]:
    """Columns of any table that may differ between runs recording the same thing."""
    return frozenset(c.name for row_type in TABLES.values() for c in columns(row_type)
                     if c.varies)


def rows_from_columns(row_type: type[Row], data: Mapping[str, Sequence[Any]]) -> list[Row]:
    """Rows of `row_type` from columns by name (e.g. an Arrow table's ``to_pydict()``)."""
    return list(map(row_type._make, zip(*(data[name] for name in row_type._fields),
                                        strict=True)))


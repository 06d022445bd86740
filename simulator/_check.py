"""Verifying a run directory: its chunks against the manifest's record, and its rows.

`verify_chunks` is what ``resume`` and ``fork`` run before reading a history: every chunk the
manifest records exists with its row count and hash; a chunk on disk that the manifest does not
list is accepted only when it directly follows the last recorded one (a kill between a chunk's
rename and the manifest's rewrite) and reads cleanly. Manifests written before chunks were
recorded get the checks that are possible: numbering from 00000 without gaps, every chunk
readable. Anything else is a `RunDirectoryError` naming the chunk, and nothing is modified.

`check_run` (``societas check RUN_DIR``) runs the same checks and more — schemas, (sim, seq) and
call-key uniqueness, the run id column, event sequences without gaps, retries numbered without
gaps, and for a completed run the manifest's counts — and lists every problem. Neither ever
writes, connects anywhere or builds a backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from societas.simulator._errors import RunDirectoryError
from societas.simulator._log import (
    UnsupportedLogFormat,
    arrow_schema,
    check_log_format,
    chunk_files,
    chunk_name,
    chunk_number,
    file_digest,
)
from societas.simulator._rows import CALL_KEY, EVENT_KEY, TABLES

ChunkRecord = dict[str, Any]
#: How many instances of one kind of row problem are named before the rest are counted.
_SHOWN = 3


@dataclass
class _TableScan:
    """One table's chunks: the record they make, what is wrong, the rows read (when deep)."""

    record: list[ChunkRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)


def verify_chunks(run_dir: str | os.PathLike[str], manifest: Mapping[str, Any]
                  ) -> dict[str, list[ChunkRecord]]:
    """The record of every chunk on disk, by table, or `RunDirectoryError` naming a bad one."""
    run_dir = Path(run_dir)
    record: dict[str, list[ChunkRecord]] = {}
    problems: list[str] = []
    for table in TABLES:
        scan = _scan_table(run_dir, table, manifest, deep=False)
        record[table] = scan.record
        problems += scan.problems
    if problems:
        more = (f" (and {len(problems) - 1} more problems: societas check {run_dir} lists them)"
                if len(problems) > 1 else "")
        raise RunDirectoryError(
            f"{run_dir} is damaged: {problems[0]}{more}; nothing was changed: restore the chunk "
            "from a copy of the run (resume and fork never overwrite or skip a chunk)")
    return record


def _scan_table(run_dir: Path, table: str, manifest: Mapping[str, Any], *,
                deep: bool) -> _TableScan:
    """Check one table's chunks against the manifest's record (or, without one, each other).

    `deep` also reads every recorded chunk in full (a matching hash already says its bytes are
    those written) and keeps the rows read.
    """
    folder = run_dir / table
    schema = arrow_schema(TABLES[table])
    on_disk = {n: f for f in chunk_files(folder) if (n := chunk_number(f.name)) is not None}
    scan = _TableScan()
    chunks = manifest.get("chunks")
    recorded = chunks.get(table, []) if isinstance(chunks, dict) else None
    if recorded is not None and not isinstance(recorded, list):
        scan.problems.append(f"manifest.json: chunks.{table} is not a list of chunk records")
        return scan
    if recorded is None:  # a manifest from before chunks were recorded
        for number in range(max(on_disk, default=-1) + 1):
            path = on_disk.get(number)
            if path is None:
                scan.problems.append(f"{table}/{chunk_name(number)} is missing: later chunks "
                                     "are on disk (chunks are numbered from 00000 without gaps)")
            else:
                _accept(scan, path, table, schema, keep=deep)
        return scan
    last = -1
    for index, entry in enumerate(recorded):
        problem = _recorded_problem(folder, table, index, entry)
        if problem is not None:
            scan.problems.append(problem)
        else:
            scan.record.append(dict(entry))
            if deep:
                _read_fully(scan, folder / entry["file"], table, schema, int(entry["rows"]))
        number = chunk_number(entry.get("file", "")) if isinstance(entry, dict) else None
        last = max(last, number if number is not None else index)
    listed = {chunk_number(e["file"]) for e in recorded
              if isinstance(e, dict) and isinstance(e.get("file"), str)}
    for number in sorted(set(on_disk) - listed):
        if number == last + 1:  # the kill window between a chunk's rename and the manifest's
            _accept(scan, on_disk[number], table, schema, keep=deep)  # write: one chunk
        else:
            scan.problems.append(
                f"{table}/{chunk_name(number)} is on disk but not in the manifest, and it does "
                f"not follow the last recorded chunk ({_last_name(last)}) directly")
    return scan


def _recorded_problem(folder: Path, table: str, index: int, entry: Any) -> str | None:
    """What is wrong with one recorded chunk on disk (None when it is as recorded)."""
    if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
            and isinstance(entry.get("rows"), int) and isinstance(entry.get("blake2b"), str)):
        return f"manifest.json: chunks.{table}[{index}] is not a chunk record: {entry!r:.120}"
    name, rows = entry["file"], entry["rows"]
    if chunk_number(name) != index:
        return (f"manifest.json: chunks.{table}[{index}] names {name!r}, not "
                f"{chunk_name(index)} (chunks are numbered from 00000 without gaps)")
    path = folder / name
    if not path.is_file():
        return f"{table}/{name} is missing (the manifest records it with {rows} rows)"
    try:
        data = path.read_bytes()
    except OSError as err:
        return f"{table}/{name} cannot be read: {err.strerror}"
    if file_digest(data) != entry["blake2b"]:
        return (f"{table}/{name} is altered: its {len(data)} bytes do not hash as the manifest "
                f"recorded (a {rows}-row chunk)")
    return None


def _accept(scan: _TableScan, path: Path, table: str, schema: pa.Schema, *,
            keep: bool) -> bool:
    """Read an unrecorded chunk in full; record it when it reads cleanly."""
    data = _read_chunk(scan, path, table, schema)
    if data is None:
        return False
    scan.record.append({"file": path.name, "rows": data.num_rows,
                        "blake2b": file_digest(path.read_bytes())})
    if keep:
        scan.tables.append(data)
    return True


def _read_fully(scan: _TableScan, path: Path, table: str, schema: pa.Schema,
                rows: int) -> None:
    data = _read_chunk(scan, path, table, schema)
    if data is None:
        return
    if data.num_rows != rows:
        scan.problems.append(f"{table}/{path.name} holds {data.num_rows} rows where the "
                             f"manifest records {rows}")
    scan.tables.append(data)


def _read_chunk(scan: _TableScan, path: Path, table: str, schema: pa.Schema
                ) -> pa.Table | None:
    """A chunk's rows, or None with the problem noted (unreadable, or another schema)."""
    name = f"{table}/{path.name}"
    try:
        found = pq.read_schema(path)
        if not found.remove_metadata().equals(schema):
            scan.problems.append(f"{name} has columns {_columns(found)}, not those of "
                                 f"{TABLES[table].__name__} ({_columns(schema)})")
            return None
        return pq.read_table(path, schema=schema)
    except (OSError, pa.ArrowException) as err:
        scan.problems.append(f"{name} is unreadable: {_one_line(err)}")
        return None


def _columns(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name}:{f.type}" for f in schema)


def _last_name(last: int) -> str:
    return chunk_name(last) if last >= 0 else "none"


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())


# -- societas check ------------------------------------------------------------------------------
@dataclass
class CheckReport:
    """What `check_run` found: every problem as one line (none when the directory is sound)."""

    run_dir: Path
    status: str | None
    problems: list[str]
    chunks: int
    rows: dict[str, int]

    @property
    def sound(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        """One line saying whether the directory is sound."""
        counted = (f"{self.rows.get('events', 0)} events, {self.rows.get('calls', 0)} calls in "
                   f"{self.chunks} chunks, status {self.status!r}")
        if self.sound:
            return f"{self.run_dir}: sound ({counted})"
        return f"{self.run_dir}: NOT sound, {len(self.problems)} problems ({counted})"


def check_run(run_dir: str | os.PathLike[str]) -> CheckReport:
    """Verify a run directory without changing it; `RunDirectoryError` when it is not one."""
    run_dir = Path(run_dir)
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise RunDirectoryError(f"{run_dir} is not a run directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict):
            raise ValueError("it is not a JSON object")
        check_log_format(manifest, run_dir)
    except (ValueError, UnsupportedLogFormat) as err:
        return CheckReport(run_dir, None, [f"manifest.json is unreadable: {_one_line(err)}"],
                           0, {})
    problems: list[str] = []
    data: dict[str, pa.Table] = {}
    chunks = 0
    for table in TABLES:
        scan = _scan_table(run_dir, table, manifest, deep=True)
        problems += scan.problems
        chunks += len(scan.record)
        schema = arrow_schema(TABLES[table])
        data[table] = pa.concat_tables(scan.tables) if scan.tables else schema.empty_table()
    problems += _row_problems(manifest, data)
    return CheckReport(run_dir, manifest.get("status"), problems, chunks,
                       {name: table.num_rows for name, table in data.items()})


def _row_problems(manifest: Mapping[str, Any], data: Mapping[str, pa.Table]) -> list[str]:
    """What is wrong with the rows read, between them and against the manifest."""
    events, calls = data["events"], data["calls"]
    problems = [*_duplicates(events, "events", EVENT_KEY),
                *_duplicates(calls, "calls", CALL_KEY)]
    run_id = manifest.get("run_id")
    for name, table in data.items():
        others = sorted({v for v in table.column("run_id").to_pylist() if v != run_id})
        if others:
            problems.append(f"{name}: rows of another run id ({_shown(others)}) than the "
                            f"manifest's {run_id!r}")
    simulations = manifest.get("simulations")
    if isinstance(simulations, int):
        for name, table in data.items():
            outside = sorted({s for s in table.column("sim").to_pylist()
                              if not 0 <= s < simulations})
            if outside:
                problems.append(f"{name}: simulations {_shown(outside)} are outside the run's "
                                f"{simulations} (0 to {simulations - 1})")
    problems += _gaps(events, ("sim",), "seq", "events of simulation {0} skip sequence numbers")
    problems += _gaps(calls, ("sim", "agent", "step", "k"), "attempt",
                      "calls of simulation {0}, agent {1!r}, step {2}, question #{3} skip "
                      "attempt numbers")
    if manifest.get("status") == "completed":
        problems += _completed_problems(manifest, events, calls)
    return problems


def _completed_problems(manifest: Mapping[str, Any], events: pa.Table,
                        calls: pa.Table) -> list[str]:
    """A completed run: its counts match the disk, and every simulation ended."""
    problems = []
    counts = manifest.get("counts") or {}
    for name, table in (("event_rows", events), ("call_rows", calls)):
        if counts.get(name) != table.num_rows:
            problems.append(f"manifest.json counts.{name} is {counts.get(name)!r} but "
                            f"{table.num_rows} rows are on disk")
    simulations = manifest.get("simulations")
    if isinstance(simulations, int):
        last: dict[int, tuple[int, str]] = {}  # each simulation's last event: seq, kind
        for sim, seq, kind in zip(events.column("sim").to_pylist(),
                                  events.column("seq").to_pylist(),
                                  events.column("kind").to_pylist(), strict=True):
            if sim not in last or seq > last[sim][0]:
                last[sim] = (seq, kind)
        unended = [s for s in range(simulations) if last.get(s, (0, ""))[1] != "outcome"]
        if unended:
            problems.append(f"the run is completed but {len(unended)} simulations "
                            f"({_shown(unended)}) do not end with an outcome event")
    return problems


def _duplicates(table: pa.Table, name: str, keys: tuple[str, ...]) -> list[str]:
    if not table.num_rows:
        return []
    grouped = table.group_by(list(keys)).aggregate([([], "count_all")])
    counts = grouped.column("count_all").to_pylist()
    repeated = grouped.take(pa.array([i for i, n in enumerate(counts) if n > 1], pa.int64()))
    if not repeated.num_rows:
        return []
    first = repeated.slice(0, _SHOWN).to_pylist()
    shown = "; ".join(", ".join(f"{k} {row[k]!r}" for k in keys) + f" ({row['count_all']} "
                      "times)" for row in first)
    return [f"{name}: {repeated.num_rows} keys ({', '.join(keys)}) appear more than once: "
            f"{shown}{' …' if repeated.num_rows > _SHOWN else ''}"]


def _gaps(table: pa.Table, group: tuple[str, ...], number: str, message: str) -> list[str]:
    """Groups whose `number` column is not 0, 1, 2 … (given no duplicates, count = max + 1)."""
    if not table.num_rows:
        return []
    stats = table.group_by(list(group)).aggregate([(number, "min"), (number, "max"),
                                                   ([], "count_all")])
    problems = []
    for row in stats.to_pylist():
        low, high, count = row[f"{number}_min"], row[f"{number}_max"], row["count_all"]
        if low != 0 or high != count - 1:
            where = [row[g] for g in group]
            problems.append(message.format(*where) + f" ({count} rows, {number} {low} to {high})")
    if len(problems) > _SHOWN:
        problems = [*problems[:_SHOWN], f"… and {len(problems) - _SHOWN} more such gaps"]
    return problems


def _shown(values: list[Any]) -> str:
    head = ", ".join(repr(v) for v in values[:_SHOWN])
    return head + (" …" if len(values) > _SHOWN else "")


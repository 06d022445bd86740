"""The run directory: a manifest plus append-only, chunked Parquet logs of events and calls.

Layout::

    <out_dir>/<run_id>/manifest.json
                       events/part-00000.parquet …
                       calls/part-00000.parquet …

Chunks are written to a temporary name and renamed into place, so a killed run leaves only whole
chunks. The manifest is rewritten the same way, after every flush, recording each chunk's file,
row count and blake2b hash (``"chunks"``); a new chunk is numbered one past the highest on disk,
so no name is ever reused. A row a column refuses fails the flush (`UnwritableRows`) after every
other buffered row is written. ``.lock`` (`simulator._lock`) is not part of the log.

The columns are those of `EventRow` and `CallRow` (`simulator._rows`), from which the Arrow
schemas here are derived. The manifest's ``log_format`` says which layout a directory has;
readers refuse one newer than they know.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from societas.simulator._errors import RunDirectoryError, SimulationError
from societas.simulator._lifecycle import Lifecycle
from societas.simulator._rows import (
    CALL_KEY,
    EVENT_KEY,
    TABLES,
    CallRow,
    EventRow,
    Row,
    columns,
    rows_from_columns,
    varying_columns,
)

#: The layout of run directories this code writes, and the newest it reads. Bump it when a
#: change to the rows or the directory would mislead an older reader; a manifest without the
#: key was written before formats were numbered, and is format 1.
LOG_FORMAT = 1

_ARROW_TYPES = {
    "string": pa.string(), "int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(),
    "bool": pa.bool_(), "timestamp[us, UTC]": pa.timestamp("us", tz="UTC"),
}


@functools.cache
def arrow_schema(row_type: type[EventRow] | type[CallRow]) -> pa.Schema:
    """The Parquet schema of a row type: its fields' names, types and nullability, in order."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.arrow_type], nullable=c.nullable)
                      for c in columns(row_type)])


EVENT_SCHEMA = arrow_schema(EventRow)
CALL_SCHEMA = arrow_schema(CallRow)

#: Columns that record when or how fast, not what happened: left out of content hashes. (A
#: prompt's cached tokens depend on what ran before it on the same engine, not on the run.)
TIMING_COLUMNS = varying_columns()

_TABLE_OF = {row_type: name for name, row_type in TABLES.items()}


class UnsupportedLogFormat(ValueError):
    """A run directory written in a log format this code cannot read."""


def check_log_format(manifest: Mapping[str, Any], run_dir: str | os.PathLike[str]) -> int:
    """The manifest's log format (1 when it has none), or an error when it is not readable."""
    found = manifest.get("log_format", 1)
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise UnsupportedLogFormat(
            f"{run_dir}/manifest.json has log_format {found!r}, which is not a format number; "
            f"it must be an integer from 1 to {LOG_FORMAT}: restore the manifest.json the run "
            "wrote")
    if found > LOG_FORMAT:
        raise UnsupportedLogFormat(
            f"{run_dir} is in log format {found}, but this societas ({_version()}) reads log "
            f"formats up to {LOG_FORMAT}; upgrade societas to read it (pip install -U societas)")
    return found


def _version() -> str:
    try:
        return metadata.version("societas")
    except metadata.PackageNotFoundError:
        return "version unknown"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to `path` via a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


#: A chunk's file name: ``part-`` and its number, never reused within a table.
CHUNK_NAME = re.compile(r"part-(\d{5,})\.parquet")


def chunk_name(number: int) -> str:
    """The file name of chunk `number`."""
    return f"part-{number:05d}.parquet"


def chunk_number(name: str) -> int | None:
    """The number of a chunk file name, or None when it is not one."""
    match = CHUNK_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def file_digest(data: bytes | memoryview | pa.Buffer) -> str:
    """The content hash the manifest records for a chunk's bytes."""
    return hashlib.blake2b(memoryview(data), digest_size=20).hexdigest()


class UnwritableRows(SimulationError, ValueError):
    """Rows holding values their columns refuse; the rest of their buffer was written."""


class StrayRows(UnwritableRows, TypeError):
    """Rows that are not of the table's row type; the rest of their buffer was written."""


class _ChunkedTable:
    """Buffers rows of one type and writes them as numbered Parquet chunks.

    `record` lists the chunks on disk in order (``{"file", "rows", "blake2b"}``), for the
    manifest; a new chunk is numbered one past the highest ever written, never by a count.
    """

    def __init__(self, folder: Path, row_type: type[EventRow] | type[CallRow],
                 record: list[dict[str, Any]]) -> None:
        self.folder = folder
        self.row_type = row_type
        self.schema = arrow_schema(row_type)
        self._rows: list[EventRow | CallRow] = []
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".part-*.tmp"):  # a write cut short by a kill
            stale.unlink()
        self.record = [dict(chunk) for chunk in record]
        numbers = [n for n in (chunk_number(c["file"]) for c in self.record) if n is not None]
        numbers += [n for n in (chunk_number(f.name) for f in folder.iterdir()) if n is not None]
        self._next_chunk = max(numbers, default=-1) + 1
        self.rows_on_disk = sum(int(chunk["rows"]) for chunk in self.record)

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def append(self, row: EventRow | CallRow) -> None:
        self._rows.append(row)

    def flush(self) -> bool:
        """Write the buffer as one chunk; True when a chunk was written.

        When some rows cannot be converted, the others are written and `UnwritableRows` names
        the first refused row; the buffer is empty afterwards either way.
        """
        if not self._rows:
            return False
        rows, self._rows = self._rows, []
        try:
            table = self._to_table(rows)
        except _CONVERSION_ERRORS:
            table = None
        if table is not None:
            self._write(table)
            return True
        good, bad = self._split(rows)  # only on failure: the normal path pays nothing
        file = self._write(self._to_table(good)) if good else None
        raise self._refusal(rows, good, bad, file)

    def _write(self, table: pa.Table) -> str:
        name = chunk_name(self._next_chunk)
        final = self.folder / name
        tmp = self.folder / f".{name}.tmp"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        data = sink.getvalue()
        tmp.write_bytes(memoryview(data))
        os.replace(tmp, final)
        self.record.append({"file": name, "rows": table.num_rows, "blake2b": file_digest(data)})
        self._next_chunk += 1
        self.rows_on_disk += table.num_rows
        return name

    def _to_table(self, rows: list[EventRow | CallRow]) -> pa.Table:
        row_type = self.row_type
        if any(type(row) is not row_type for row in rows):
            raise TypeError(f"rows of another type than {row_type.__name__}")
        arrays = [pa.array(values, type=field.type)
                  for values, field in zip(zip(*rows, strict=True), self.schema, strict=True)]
        if any(a.null_count and not f.nullable for a, f in zip(arrays, self.schema, strict=True)):
            raise ValueError("a null in a column that is not nullable")  # else the writer says
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _split(self, rows: list[EventRow | CallRow]
               ) -> tuple[list[EventRow | CallRow], list[tuple[EventRow | CallRow, str]]]:
        """The rows that convert, and each refused row with why."""
        good: list[EventRow | CallRow] = []
        bad: list[tuple[EventRow | CallRow, str]] = []
        for row in rows:
            problem = self._row_problem(row)
            if problem is None:
                good.append(row)
            else:
                bad.append((row, problem))
        return good, bad

    def _row_problem(self, row: object) -> str | None:
        if type(row) is not self.row_type:
            return f"a {type(row).__name__}: {row!r:.200}"
        for value, field in zip(row, self.schema, strict=True):  # type: ignore[arg-type]
            try:
                pa.array([value], type=field.type)
            except _CONVERSION_ERRORS as err:
                return f"column {field.name!r} refuses {value!r:.80}: {err}"
            if value is None and not field.nullable:
                return f"column {field.name!r} refuses None: the column is not nullable"
        return None

    def _refusal(self, rows: list[EventRow | CallRow], good: list[EventRow | CallRow],
                 bad: list[tuple[EventRow | CallRow, str]], file: str | None) -> UnwritableRows:
        row, problem = bad[0]
        kept = (f"the other {len(good)} rows are in {self.folder / file}" if file
                else "no other row was buffered")
        table = self.folder.name
        if type(row) is not self.row_type:
            return StrayRows(f"{self.folder} takes {self.row_type.__name__} rows, got {problem}; "
                             f"build the row as {self.row_type.__name__} ({len(bad)} of "
                             f"{len(rows)} {table} rows refused; {kept})")
        return UnwritableRows(
            f"cannot log the {table} row of {_describe_row(row)}: {problem}; build rows as "
            f"{self.row_type.__name__} with the types simulator/_rows.py declares ({len(bad)} "
            f"of {len(rows)} {table} rows refused; {kept})")


#: What converting a Python value to Arrow raises when the column cannot hold it.
_CONVERSION_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


def _describe_row(row: EventRow | CallRow) -> str:
    if isinstance(row, EventRow):
        return f"simulation {row.sim}, step {row.step} (event #{row.seq}, {row.kind!r})"
    return (f"simulation {row.sim}, step {row.step} (agent {row.agent!r}, question "
            f"{row.question!r}, attempt {row.attempt})")


class RunLog(Lifecycle):
    """Writer for one run directory. Use as a context manager; closing flushes every buffer.

    Buffers are written when either holds `chunk_rows` rows or `flush_seconds` have passed, calls
    before events: a run killed between the two writes has the answers of every logged event,
    so resuming it never has to ask again for an event already on disk. The manifest it writes
    records the `LOG_FORMAT` of the rows.
    """

    def __init__(self, run_dir: Path, *, chunk_rows: int = 50_000,
                 flush_seconds: float = 10.0) -> None:
        self.run_dir = Path(run_dir)
        self.chunk_rows = chunk_rows
        self.flush_seconds = flush_seconds
        self.manifest: dict[str, Any] = {}
        self._last_flush = time.monotonic()

    def open(self, manifest: Mapping[str, Any], *, existing: bool = False) -> RunLog:
        """Create the directory (or reopen it, when `existing`) and write the manifest.

        A new run's directory may already exist (its creator holds its lock in it) but must
        not hold a manifest. Reopening takes the chunk record from ``manifest["chunks"]`` (as
        `_check.verify_chunks` returns it), or reads it off the disk when it has none.
        """
        self._mark_open()
        if existing:
            read_manifest(self.run_dir)  # a run directory, in a format this code can extend
            record = manifest.get("chunks")
            if not isinstance(record, dict):  # not verified by the caller: as found on disk
                record = {table: [_chunk_record(f) for f in chunk_files(self.run_dir / table)]
                          for table in TABLES}
        else:
            if (self.run_dir / "manifest.json").exists():
                raise FileExistsError(f"{self.run_dir} already exists; choose another run_id "
                                      "or out_dir")
            self.run_dir.mkdir(parents=True, exist_ok=True)
            record = {}
        self.events = _ChunkedTable(self.run_dir / "events", EventRow, record.get("events", []))
        self.calls = _ChunkedTable(self.run_dir / "calls", CallRow, record.get("calls", []))
        self.manifest = {"log_format": LOG_FORMAT,
                         **{k: v for k, v in manifest.items() if k != "log_format"}}
        self.write_manifest()
        return self

    def event(self, row: EventRow) -> None:
        """Append one event row."""
        self.events.append(row)
        self._maybe_flush()

    def call(self, row: CallRow) -> None:
        """Append one call row."""
        self.calls.append(row)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        full = max(self.events.buffered, self.calls.buffered) >= self.chunk_rows
        if full or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write buffered rows as chunks, calls first, then the manifest that records them.

        A table whose rows cannot all be written writes the others; the other table is still
        flushed and the manifest rewritten before the first such error is raised.
        """
        written, errors = False, []
        for table in (self.calls, self.events):
            try:
                written = table.flush() or written
            except UnwritableRows as err:
                written, errors = True, [*errors, err]
        self._last_flush = time.monotonic()
        if written:
            self.write_manifest()  # after the renames: a chunk on disk may be unrecorded, not
            # a recorded chunk missing
        if errors:
            raise errors[0]

    def update_manifest(self, **fields: Any) -> None:
        """Merge `fields` into the manifest and rewrite it."""
        self.manifest.update(fields)
        self.write_manifest()

    def write_manifest(self) -> None:
        """Rewrite manifest.json atomically, with the record of every chunk on disk."""
        if hasattr(self, "events"):
            self.manifest["chunks"] = {"events": self.events.record,
                                       "calls": self.calls.record}
        write_json_atomic(self.run_dir / "manifest.json", self.manifest)

    def close(self) -> None:
        """Flush everything; safe to call twice."""
        if self._mark_closed():
            self.flush()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run directory, with a clear error when it is not one it can read."""
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise RunDirectoryError(f"{path} is not valid JSON ({err}); restore the manifest the "
                                "run wrote") from None
    if not isinstance(manifest, dict):
        raise RunDirectoryError(f"{path} holds a JSON {type(manifest).__name__}, not the object "
                                "a run writes; restore the manifest the run wrote")
    check_log_format(manifest, run_dir)
    return manifest


def read_table(run_dir: str | os.PathLike[str], table: str = "events") -> pa.Table:
    """All chunks of `events` or `calls` as one Arrow table (no polars needed)."""
    if table not in TABLES:
        raise ValueError(f"a run directory has no table {table!r}; read 'events' or 'calls'")
    read_manifest(run_dir)  # refuses what is not a run directory, or one too new to read
    schema = arrow_schema(TABLES[table])
    files = chunk_files(Path(run_dir) / table)
    if not files:
        return schema.empty_table()
    return pa.concat_tables(pq.read_table(f, schema=schema) for f in files)


def chunk_files(folder: Path) -> list[Path]:
    """The chunk files of one table's folder in number order, temporaries left out."""
    if not folder.is_dir():
        return []
    found = [(n, f) for f in folder.iterdir() if (n := chunk_number(f.name)) is not None]
    return [f for _, f in sorted(found)]


def _chunk_record(path: Path) -> dict[str, Any]:
    """What the manifest records of a chunk on disk."""
    return {"file": path.name, "rows": pq.read_metadata(path).num_rows,
            "blake2b": file_digest(path.read_bytes())}


def read_rows(run_dir: str | os.PathLike[str], row_type: type[Row]) -> list[Row]:
    """Every row of one table of a run directory, typed, in the order they were written."""
    return rows_from_columns(row_type, read_table(run_dir, _TABLE_OF[row_type]).to_pydict())


def content_hash(run_dirs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                 table: str = "events") -> str:
    """Hash of a log's content: rows sorted by their identity, timing and run id left out.

    Two runs with equal hashes recorded the same events (or calls), whatever their batching,
    concurrency, chunking or wall-clock times.
    """
    dirs = [run_dirs] if isinstance(run_dirs, str | os.PathLike) else list(run_dirs)
    data = pa.concat_tables(read_table(d, table) for d in dirs)
    keys = EVENT_KEY if table == "events" else CALL_KEY
    data = data.sort_by([(k, "ascending") for k in keys])
    digest = hashlib.blake2b(digest_size=20)
    for name in data.column_names:
        if name in TIMING_COLUMNS:
            continue
        digest.update(name.encode())
        digest.update(json.dumps(data.column(name).to_pylist(), default=str).encode())
    return digest.hexdigest()

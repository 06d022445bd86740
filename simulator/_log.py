"""The run directory: a manifest plus append-only, chunked Parquet logs of events and calls.

Layout::

    <out_dir>/<run_id>/manifest.json
                       events/part-00000.parquet …
                       calls/part-00000.parquet …

Chunks are written to a temporary name and renamed into place, so a killed run leaves only whole
chunks. The manifest is rewritten the same way. The columns are those of `EventRow` and
`CallRow` (`simulator._rows`), from which the Arrow schemas here are derived. The manifest's
``log_format`` says which layout a directory has; readers refuse one newer than they know.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

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


class _ChunkedTable:
    """Buffers rows of one type and writes them as numbered Parquet chunks."""

    def __init__(self, folder: Path, row_type: type[EventRow] | type[CallRow]) -> None:
        self.folder = folder
        self.row_type = row_type
        self.schema = arrow_schema(row_type)
        self._rows: list[EventRow | CallRow] = []
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".part-*.tmp"):  # a write cut short by a kill
            stale.unlink()
        chunks = sorted(folder.glob("part-*.parquet"))
        self._next_chunk = len(chunks)
        self.rows_on_disk = sum(pq.read_metadata(f).num_rows for f in chunks)

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def append(self, row: EventRow | CallRow) -> None:
        self._rows.append(row)

    def flush(self) -> None:
        if not self._rows:
            return
        rows = self._rows
        final = self.folder / f"part-{self._next_chunk:05d}.parquet"
        tmp = self.folder / f".{final.name}.tmp"
        try:
            pq.write_table(self._to_table(rows), tmp, compression="zstd")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            tmp.unlink(missing_ok=True)
            raise ValueError(
                f"cannot write {self.folder.name} to {self.folder}: {err}; a row holds a value "
                f"its column does not allow: build rows as {self.row_type.__name__} with the "
                "types simulator/_rows.py declares") from err
        os.replace(tmp, final)
        self._next_chunk += 1
        self.rows_on_disk += len(rows)
        self._rows = []

    def _to_table(self, rows: list[EventRow | CallRow]) -> pa.Table:
        row_type = self.row_type
        if any(type(row) is not row_type for row in rows):
            stray = next(row for row in rows if type(row) is not row_type)
            raise TypeError(f"{self.folder} takes {row_type.__name__} rows, got a "
                            f"{type(stray).__name__}: {stray!r:.200}; build the row as "
                            f"{row_type.__name__}")
        arrays = [pa.array(values, type=field.type)
                  for values, field in zip(zip(*rows, strict=True), self.schema, strict=True)]
        return pa.Table.from_arrays(arrays, schema=self.schema)


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
        """Create the directory (or reopen it, when `existing`) and write the manifest."""
        self._mark_open()
        if existing:
            read_manifest(self.run_dir)  # a run directory, in a format this code can extend
        self.run_dir.mkdir(parents=True, exist_ok=existing)
        self.events = _ChunkedTable(self.run_dir / "events", EventRow)
        self.calls = _ChunkedTable(self.run_dir / "calls", CallRow)
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
        """Write buffered rows as chunks: calls first, then events."""
        self.calls.flush()
        self.events.flush()
        self._last_flush = time.monotonic()

    def update_manifest(self, **fields: Any) -> None:
        """Merge `fields` into the manifest and rewrite it."""
        self.manifest.update(fields)
        self.write_manifest()

    def write_manifest(self) -> None:
        """Rewrite manifest.json atomically."""
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
    manifest = json.loads(path.read_text())
    check_log_format(manifest, run_dir)
    return manifest


def read_table(run_dir: str | os.PathLike[str], table: str = "events") -> pa.Table:
    """All chunks of `events` or `calls` as one Arrow table (no polars needed)."""
    if table not in TABLES:
        raise ValueError(f"a run directory has no table {table!r}; read 'events' or 'calls'")
    read_manifest(run_dir)  # refuses what is not a run directory, or one too new to read
    schema = arrow_schema(TABLES[table])
    files = sorted((Path(run_dir) / table).glob("part-*.parquet"))
    if not files:
        return schema.empty_table()
    return pa.concat_tables(pq.read_table(f, schema=schema) for f in files)


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

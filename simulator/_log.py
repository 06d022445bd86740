"""The run directory: a manifest plus append-only, chunked Parquet logs of events and calls.

Layout::

    <out_dir>/<run_id>/manifest.json
                       events/part-00000.parquet …
                       calls/part-00000.parquet …

Chunks are written to a temporary name and renamed into place, so a killed run leaves only whole
chunks. The manifest is rewritten the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from simulator._lifecycle import Lifecycle

EVENT_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("sim", pa.int32()),
    ("seq", pa.int64()),
    ("step", pa.int32()),
    ("phase", pa.string()),
    ("kind", pa.string()),
    ("actor", pa.string()),
    ("target", pa.string()),
    ("data", pa.string()),
    ("wall_time", pa.timestamp("us", tz="UTC")),
])

CALL_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("sim", pa.int32()),
    ("agent", pa.string()),
    ("step", pa.int32()),
    ("k", pa.int32()),
    ("attempt", pa.int32()),
    ("question", pa.string()),
    ("policy", pa.string()),
    ("backend", pa.string()),
    ("seed", pa.int64()),
    ("prompt_hash", pa.string()),
    ("messages", pa.string()),
    ("raw_text", pa.string()),
    ("answer", pa.string()),
    ("error", pa.string()),
    ("fallback", pa.bool_()),
    ("option_logprobs", pa.string()),
    ("tokens_in", pa.int32()),
    ("tokens_out", pa.int32()),
    ("cached_tokens", pa.int32()),
    ("latency_s", pa.float64()),
    ("batch_id", pa.int64()),
    ("batch_size", pa.int32()),
    ("wall_time", pa.timestamp("us", tz="UTC")),
])

#: Columns that record when or how fast, not what happened: left out of content hashes.
TIMING_COLUMNS = frozenset({"run_id", "wall_time", "latency_s", "batch_id", "batch_size"})


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to `path` via a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


class _ChunkedTable:
    """Buffers rows of one schema and writes them as numbered Parquet chunks."""

    def __init__(self, folder: Path, schema: pa.Schema, chunk_rows: int) -> None:
        self.folder = folder
        self.schema = schema
        self.chunk_rows = chunk_rows
        self.rows_written = 0
        self._columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self._buffered = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._next_chunk = len(list(folder.glob("part-*.parquet")))

    def append(self, row: Mapping[str, Any]) -> None:
        for name, column in self._columns.items():
            column.append(row.get(name))
        self._buffered += 1
        if self._buffered >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self._buffered:
            return
        table = pa.Table.from_pydict(self._columns, schema=self.schema)
        final = self.folder / f"part-{self._next_chunk:05d}.parquet"
        tmp = self.folder / f".{final.name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        self._next_chunk += 1
        self.rows_written += self._buffered
        self._buffered = 0
        for column in self._columns.values():
            column.clear()


class RunLog(Lifecycle):
    """Writer for one run directory. Use as a context manager; closing flushes every buffer."""

    def __init__(self, run_dir: Path, *, chunk_rows: int = 50_000) -> None:
        self.run_dir = Path(run_dir)
        self.chunk_rows = chunk_rows
        self.manifest: dict[str, Any] = {}

    def open(self, manifest: Mapping[str, Any]) -> RunLog:
        """Create the directory and write the initial manifest."""
        self._mark_open()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.events = _ChunkedTable(self.run_dir / "events", EVENT_SCHEMA, self.chunk_rows)
        self.calls = _ChunkedTable(self.run_dir / "calls", CALL_SCHEMA, self.chunk_rows)
        self.manifest = dict(manifest)
        self.write_manifest()
        return self

    def event(self, row: Mapping[str, Any]) -> None:
        """Append one event row."""
        self.events.append(row)

    def call(self, row: Mapping[str, Any]) -> None:
        """Append one call row."""
        self.calls.append(row)

    def flush(self) -> None:
        """Write buffered rows as chunks."""
        self.events.flush()
        self.calls.flush()

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
    """The manifest of a run directory, with a clear error when it is not one."""
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no manifest.json)")
    return json.loads(path.read_text())


def read_table(run_dir: str | os.PathLike[str], table: str = "events") -> pa.Table:
    """All chunks of `events` or `calls` as one Arrow table (no polars needed)."""
    schema = EVENT_SCHEMA if table == "events" else CALL_SCHEMA
    files = sorted((Path(run_dir) / table).glob("part-*.parquet"))
    if not files:
        return schema.empty_table()
    return pa.concat_tables(pq.read_table(f, schema=schema) for f in files)


def content_hash(run_dirs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                 table: str = "events") -> str:
    """Hash of a log's content: rows sorted by their identity, timing and run id left out.

    Two runs with equal hashes recorded the same events (or calls), whatever their batching,
    concurrency, chunking or wall-clock times.
    """
    dirs = [run_dirs] if isinstance(run_dirs, str | os.PathLike) else list(run_dirs)
    data = pa.concat_tables(read_table(d, table) for d in dirs)
    keys = ["sim", "seq"] if table == "events" else ["sim", "agent", "step", "k", "attempt"]
    data = data.sort_by([(k, "ascending") for k in keys])
    digest = hashlib.blake2b(digest_size=20)
    for name in data.column_names:
        if name in TIMING_COLUMNS:
            continue
        digest.update(name.encode())
        digest.update(json.dumps(data.column(name).to_pylist(), default=str).encode())
    return digest.hexdigest()

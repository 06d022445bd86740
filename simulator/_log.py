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
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from societas.simulator._lifecycle import Lifecycle

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

#: Columns that record when or how fast, not what happened: left out of content hashes. (A
#: prompt's cached tokens depend on what ran before it on the same engine, not on the run.)
TIMING_COLUMNS = frozenset({"run_id", "wall_time", "latency_s", "batch_id", "batch_size",
                            "cached_tokens"})


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to `path` via a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


class _ChunkedTable:
    """Buffers rows of one schema and writes them as numbered Parquet chunks."""

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        self.folder = folder
        self.schema = schema
        self._rows: list[Mapping[str, Any]] = []
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".part-*.tmp"):  # a write cut short by a kill
            stale.unlink()
        chunks = sorted(folder.glob("part-*.parquet"))
        self._next_chunk = len(chunks)
        self.rows_on_disk = sum(pq.read_metadata(f).num_rows for f in chunks)

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def append(self, row: Mapping[str, Any]) -> None:
        self._rows.append(row)

    def flush(self) -> None:
        if not self._rows:
            return
        rows = self._rows
        columns = {name: [row.get(name) for row in rows] for name in self.schema.names}
        table = pa.Table.from_pydict(columns, schema=self.schema)
        final = self.folder / f"part-{self._next_chunk:05d}.parquet"
        tmp = self.folder / f".{final.name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        self._next_chunk += 1
        self.rows_on_disk += len(rows)
        self._rows = []


class RunLog(Lifecycle):
    """Writer for one run directory. Use as a context manager; closing flushes every buffer.

    Buffers are written when either holds `chunk_rows` rows or `flush_seconds` have passed, calls
    before events: a run killed between the two writes has the answers of every logged event,
    so resuming it never has to ask again for an event already on disk.
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
        if existing and not (self.run_dir / "manifest.json").is_file():
            raise FileNotFoundError(f"{self.run_dir} is not a run directory (no manifest.json)")
        self.run_dir.mkdir(parents=True, exist_ok=existing)
        self.events = _ChunkedTable(self.run_dir / "events", EVENT_SCHEMA)
        self.calls = _ChunkedTable(self.run_dir / "calls", CALL_SCHEMA)
        self.manifest = dict(manifest)
        self.write_manifest()
        return self

    def event(self, row: Mapping[str, Any]) -> None:
        """Append one event row."""
        self.events.append(row)
        self._maybe_flush()

    def call(self, row: Mapping[str, Any]) -> None:
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

"""``societas check``: a sound run passes; every seeded defect is named in one line; nothing is
written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from societas import simulator
from societas.simulator import RunDirectoryError
from societas.simulator._check import check_run
from societas.simulator._log import arrow_schema, chunk_name, file_digest
from societas.simulator._rows import TABLES
from tests.conftest import small_run_config

SOCIETAS = str(Path(sys.executable).with_name("societas"))


@pytest.fixture(scope="module")
def sound(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sound")
    return simulator.run(small_run_config("donor_game", out, "sound", simulations=3,
                                          chunk_rows=60)).run_dir


@pytest.fixture
def run_dir(tmp_path, sound) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(sound, target)
    return target


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def save_manifest(run_dir: Path, manifest: dict) -> None:
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def add_chunk(run_dir: Path, table: str, data: pa.Table, *, record: bool = True,
              number: int | None = None) -> str:
    """Write `data` as the next chunk of `table`, recorded in the manifest with its hash."""
    manifest = manifest_of(run_dir)
    chunks = manifest["chunks"][table]
    name = chunk_name(len(chunks) if number is None else number)
    pq.write_table(data.cast(arrow_schema(TABLES[table])), run_dir / table / name)
    if record:
        chunks.append({"file": name, "rows": data.num_rows,
                       "blake2b": file_digest((run_dir / table / name).read_bytes())})
        save_manifest(run_dir, manifest)
    return name


def first_chunk(run_dir: Path, table: str) -> pa.Table:
    return pq.read_table(run_dir / table / "part-00000.parquet")


def problems(run_dir: Path) -> list[str]:
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    report = check_run(run_dir)
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before  # no writes
    assert all("\n" not in line for line in report.problems)
    assert report.sound == (not report.problems)
    return report.problems


def test_a_sound_run_passes_on_the_command_line(sound):
    done = subprocess.run([SOCIETAS, "check", str(sound)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == (f"{sound}: sound ({check_run(sound).rows['events']} events, "
                                   f"{check_run(sound).rows['calls']} calls in "
                                   f"{check_run(sound).chunks} chunks, status 'completed')")


def test_a_damaged_run_fails_on_the_command_line_one_line_per_problem(run_dir):
    (run_dir / "events" / "part-00002.parquet").unlink()
    done = subprocess.run([SOCIETAS, "check", str(run_dir)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == ("  events/part-00002.parquet is missing (the manifest records it with "
                        f"{manifest_of(run_dir)['chunks']['events'][2]['rows']} rows)")
    assert lines[-1].startswith(f"{run_dir}: NOT sound, {len(lines) - 1} problems (")


def test_not_a_run_directory_is_a_one_line_error_with_exit_2(tmp_path):
    done = subprocess.run([SOCIETAS, "check", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"societas: {tmp_path} is not a run directory (no manifest.json)"
    with pytest.raises(RunDirectoryError):
        check_run(tmp_path)


def test_duplicate_event_and_call_rows_are_reported(run_dir):
    """What two unlocked resumers used to leave: rows written twice, hashes and all in order."""
    add_chunk(run_dir, "events", first_chunk(run_dir, "events").slice(0, 5))
    add_chunk(run_dir, "calls", first_chunk(run_dir, "calls").slice(0, 2))
    found = problems(run_dir)
    assert any(p.startswith("events: 5 keys (sim, seq) appear more than once: sim 0, seq 0 "
                            "(2 times)") for p in found), found
    assert any(p.startswith("calls: 2 keys (sim, agent, step, k, attempt) appear more than "
                            "once") for p in found), found
    assert any(p.startswith("manifest.json counts.event_rows is ") for p in found), found


def test_a_chunk_of_another_run_and_a_gap_in_sequence_numbers_are_reported(run_dir):
    events = first_chunk(run_dir, "events")
    last = pa.concat_tables(pq.read_table(p) for p in sorted((run_dir / "events").iterdir()))
    stray = events.slice(0, 1)
    stray = stray.set_column(0, "run_id", pa.array(["other-run"]))
    stray = stray.set_column(2, "seq", pa.array([int(max(last.column("seq").to_pylist())) + 5],
                                                pa.int64()))
    add_chunk(run_dir, "events", stray)
    found = problems(run_dir)
    assert "events: rows of another run id ('other-run') than the manifest's 'sound'" in found
    assert any(p.startswith("events of simulation 0 skip sequence numbers") for p in found)


def test_an_unrecorded_chunk_that_leaves_a_gap_is_reported(run_dir):
    chunks = manifest_of(run_dir)["chunks"]["calls"]
    add_chunk(run_dir, "calls", first_chunk(run_dir, "calls").slice(0, 0), record=False,
              number=len(chunks) + 1)
    assert problems(run_dir)[0] == (
        f"calls/{chunk_name(len(chunks) + 1)} is on disk but not in the manifest, and it does "
        f"not follow the last recorded chunk ({chunk_name(len(chunks) - 1)}) directly")


def test_an_unrecorded_chunk_right_after_the_last_is_sound_unless_counts_disagree(run_dir):
    manifest = manifest_of(run_dir)
    dropped = manifest["chunks"]["events"].pop()  # as if killed before the manifest's rewrite
    manifest["status"] = "running"
    save_manifest(run_dir, manifest)
    assert problems(run_dir) == []
    manifest["status"] = "completed"
    save_manifest(run_dir, manifest)
    assert problems(run_dir) == []  # the chunk is counted though unrecorded
    assert dropped["file"] in {p.name for p in (run_dir / "events").iterdir()}


@pytest.mark.parametrize("table", ["events", "calls"])
def test_a_chunk_with_other_columns_is_reported(run_dir, table):
    manifest = manifest_of(run_dir)
    manifest["chunks"][table].pop()
    save_manifest(run_dir, manifest)
    name = chunk_name(len(manifest["chunks"][table]))
    pq.write_table(pa.table({"sim": [0]}), run_dir / table / name)
    assert any(p.startswith(f"{table}/{name} has columns sim:int64, not those of ")
               for p in problems(run_dir))


def test_a_completed_run_with_wrong_counts_or_unfinished_simulations_is_reported(run_dir):
    manifest = manifest_of(run_dir)
    manifest["counts"]["call_rows"] += 1
    manifest["simulations"] = 4
    save_manifest(run_dir, manifest)
    found = problems(run_dir)
    assert (f"manifest.json counts.call_rows is {manifest['counts']['call_rows']} but "
            f"{manifest['counts']['call_rows'] - 1} rows are on disk") in found
    assert ("the run is completed but 1 simulations (3) do not end with an outcome event"
            in found)


def test_an_unreadable_manifest_is_reported(run_dir):
    (run_dir / "manifest.json").write_text("{not json")
    (found,) = problems(run_dir)
    assert found.startswith("manifest.json is unreadable: JSONDecodeError")


def test_a_garbage_unrecorded_chunk_is_reported_as_unreadable(run_dir):
    manifest = manifest_of(run_dir)
    name = manifest["chunks"]["events"].pop()["file"]
    save_manifest(run_dir, manifest)
    (run_dir / "events" / name).write_bytes(b"PAR1 not really")
    assert any(p.startswith(f"events/{name} is unreadable: ") for p in problems(run_dir))

"""The run log: whole chunks only, a truthful manifest, content hashes that ignore timing."""

from __future__ import annotations

import pyarrow.parquet as pq

from societas import simulator
from societas.simulator import RunLog, content_hash, read_table


def test_chunks_are_whole_files_with_no_temporaries(small_donor):
    result = simulator.run(small_donor(chunk_rows=100, simulations=4))
    files = sorted((result.run_dir / "events").iterdir())
    assert len(files) > 3
    assert all(f.name.startswith("part-") and f.suffix == ".parquet" for f in files)
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    assert rows == result.counters.events
    assert read_table(result.run_dir).num_rows == rows


def test_content_hash_ignores_chunking_and_run_id(small_donor):
    a = simulator.run(small_donor(chunk_rows=37, run_id="a"))
    b = simulator.run(small_donor(chunk_rows=50_000, run_id="b"))
    assert len(list((a.run_dir / "events").iterdir())) > 1
    assert len(list((b.run_dir / "events").iterdir())) == 1
    assert content_hash(a.run_dir) == content_hash(b.run_dir)


def test_manifest_records_config_versions_and_counts(small_donor):
    result = simulator.run(small_donor(simulations=3))
    manifest = simulator.read_manifest(result.run_dir)
    assert manifest["status"] == "completed"
    assert manifest["config"]["simulations"] == 3
    assert manifest["scenario_config"]["rounds"] == 4
    assert manifest["backend"]["scripted"]["name"] == "scripted"
    assert {"numpy", "pydantic", "pyarrow", "python"} <= set(manifest["versions"])
    assert manifest["counts"]["simulations_done"] == 3
    assert manifest["counts"]["event_rows"] == result.counters.events
    assert sum(int(size) * n for size, n in manifest["batches"]["scripted"].items()) == \
        manifest["counts"]["requests"]


def test_reusing_a_closed_log_is_an_error(tmp_path):
    log = RunLog(tmp_path / "r")
    log.open({"run_id": "r"})
    log.close()
    log.close()  # closing twice is harmless
    try:
        log.open({"run_id": "r"})
    except RuntimeError as err:
        assert "already closed" in str(err)
    else:
        raise AssertionError("reopening a closed log must fail")

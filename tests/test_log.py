"""The run log: whole chunks only, a truthful manifest, content hashes that ignore timing."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial

import pyarrow.parquet as pq
import pytest

from societas import analysis, simulator
from societas.simulator import content_hash, read_table
from societas.simulator._history import History
from societas.simulator._log import (
    CALL_SCHEMA,
    EVENT_SCHEMA,
    LOG_FORMAT,
    TIMING_COLUMNS,
    RunLog,
    UnsupportedLogFormat,
    read_rows,
)
from societas.simulator._rows import CallRow, EventRow
from societas.simulator.backends import ScriptedBackend, register_backend
from tests.conftest import small_run_config

donor_config = partial(small_run_config, "donor_game")


def test_chunks_are_whole_files_with_no_temporaries(small_config):
    result = simulator.run(small_config("donor_game", chunk_rows=100, simulations=4))
    files = sorted((result.run_dir / "events").iterdir())
    assert len(files) > 3
    assert all(f.name.startswith("part-") and f.suffix == ".parquet" for f in files)
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    assert rows == result.counters.events
    assert read_table(result.run_dir).num_rows == rows


def test_content_hash_ignores_chunking_and_run_id(small_config):
    a = simulator.run(small_config("donor_game", chunk_rows=37, run_id="a"))
    b = simulator.run(small_config("donor_game", chunk_rows=50_000, run_id="b"))
    assert len(list((a.run_dir / "events").iterdir())) > 1
    assert len(list((b.run_dir / "events").iterdir())) == 1
    assert content_hash(a.run_dir) == content_hash(b.run_dir)


def test_manifest_records_config_versions_and_counts(small_config):
    result = simulator.run(small_config("donor_game", simulations=3))
    manifest = simulator.read_manifest(result.run_dir)
    assert manifest["status"] == "completed"
    assert manifest["log_format"] == LOG_FORMAT == 1
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


# -- the row types and the schemas derived from them -----------------------------------------------
def test_the_schemas_are_the_row_types_columns_in_order():
    assert EVENT_SCHEMA.names == list(EventRow._fields)
    assert CALL_SCHEMA.names == list(CallRow._fields)
    # The on-disk contract: these names, types and nullabilities, in this order.
    assert [(f.name, str(f.type), f.nullable) for f in EVENT_SCHEMA] == [
        ("run_id", "string", False), ("sim", "int32", False), ("seq", "int64", False),
        ("step", "int32", False), ("phase", "string", False), ("kind", "string", False),
        ("actor", "string", True), ("target", "string", True), ("data", "string", False),
        ("wall_time", "timestamp[us, tz=UTC]", False)]
    nullable = {f.name for f in CALL_SCHEMA if f.nullable}
    assert nullable == {"prompt_hash", "messages", "answer", "error", "option_logprobs"}
    types = {f.name: str(f.type) for f in CALL_SCHEMA}
    assert (types["seed"], types["fallback"], types["latency_s"]) == ("int64", "bool", "double")
    varying = {"run_id", "wall_time", "latency_s", "batch_id", "batch_size", "cached_tokens"}
    assert varying == TIMING_COLUMNS


def test_rows_read_back_as_written(tmp_path):
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    events = [EventRow("r", 0, seq, seq // 2, "vote", "voted", f"a{seq}", None, "{}", when)
              for seq in range(5)]
    call = CallRow("r", 0, "a1", 0, 0, 1, "vote", "model", "vllm", 2**40, "h", "[]", "a0",
                   '"a0"', None, False, None, 10, 2, 3, 0.5, 7, 64, when)
    with RunLog(tmp_path / "r", chunk_rows=2).open({"run_id": "r"}) as log:
        for row in events:
            log.event(row)
        log.call(call)
    assert len(list((tmp_path / "r" / "events").iterdir())) == 3
    assert read_rows(tmp_path / "r", EventRow) == events
    assert read_rows(tmp_path / "r", CallRow) == [call]
    assert read_table(tmp_path / "r", "calls").column_names == list(CallRow._fields)


def test_a_row_breaking_its_column_types_fails_the_write_naming_the_column(tmp_path):
    log = RunLog(tmp_path / "r").open({"run_id": "r"})
    log.event(EventRow("r", 0, 0, 0, "vote", None, None, None, "{}",  # kind is required
                       dt.datetime.now(dt.UTC)))
    with pytest.raises(ValueError, match=r"'kind'.*build rows as EventRow"):
        log.close()
    assert not list((tmp_path / "r" / "events").iterdir())  # no chunk, not even a temporary

    log = RunLog(tmp_path / "s").open({"run_id": "s"})
    log.event({"run_id": "s", "sim": 0})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes EventRow rows, got a dict"):
        log.close()


def test_a_backend_breaking_the_response_types_fails_the_run_and_says_so(small_config):
    class NoUsage(ScriptedBackend):
        """Reports no token counts (None where the `Response` type says int)."""

        async def generate(self, requests):
            responses = await super().generate(requests)
            for response in responses:
                response.tokens_in = None
            return responses

    register_backend("no-usage", lambda cfg: NoUsage(
        lambda r: r.question.encode(r.question.fallback)))
    config = small_config("donor_game", backend={"name": "no-usage"}, run_id="no-usage")
    with pytest.raises(ValueError, match="tokens_in"):
        simulator.run(config)
    manifest = simulator.read_manifest(f"{config['out_dir']}/no-usage")
    assert manifest["status"] == "failed"  # the last write failed: the run did not complete
    assert "tokens_in" in manifest["error"]["message"]
    assert manifest["counts"]["call_rows"] == 0


# -- the log format --------------------------------------------------------------------------------
def rewrite_manifest(run_dir, **changes):
    path = run_dir / "manifest.json"
    manifest = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in manifest.items() if v is not None}))


@pytest.fixture(scope="module")
def newer_run(tmp_path_factory):
    """A run directory whose manifest claims a log format newer than this code reads."""
    result = simulator.run(donor_config(tmp_path_factory.mktemp("newer"), run_id="newer"))
    rewrite_manifest(result.run_dir, log_format=LOG_FORMAT + 1)
    return result.run_dir


READERS = {
    "read_manifest": simulator.read_manifest,
    "read_table": lambda run_dir: read_table(run_dir, "calls"),
    "content_hash": content_hash,
    "History.load": History.load,
    "analysis.events": lambda run_dir: analysis.events(run_dir).collect(),
    "analysis.calls": lambda run_dir: analysis.calls([run_dir.parent]).collect(),
    "analysis.manifest": analysis.manifest,
    "RunLog.open(existing)": lambda run_dir: RunLog(run_dir).open({}, existing=True),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_a_newer_log_format_is_refused_with_the_fix(newer_run, reader):
    with pytest.raises(UnsupportedLogFormat) as caught:
        READERS[reader](newer_run)
    message = str(caught.value)
    assert str(newer_run) in message
    assert f"log format {LOG_FORMAT + 1}" in message
    assert f"reads log formats up to {LOG_FORMAT}" in message
    assert message.endswith("upgrade societas to read it (pip install -U societas)")


@pytest.mark.parametrize("value", ["1", 0, True, 1.5])
def test_a_log_format_that_is_no_format_number_is_refused(small_config, value):
    result = simulator.run(small_config("donor_game", run_id="odd"))
    rewrite_manifest(result.run_dir, log_format=value)
    with pytest.raises(UnsupportedLogFormat, match=r"has log_format .* restore the manifest"):
        simulator.read_manifest(result.run_dir)


def test_a_manifest_without_log_format_reads_as_format_1(small_config):
    result = simulator.run(small_config("donor_game", run_id="old"))
    events, calls = content_hash(result.run_dir), content_hash(result.run_dir, "calls")
    rewrite_manifest(result.run_dir, log_format=None)  # as written before formats were numbered
    assert "log_format" not in simulator.read_manifest(result.run_dir)
    assert content_hash(result.run_dir) == events
    assert content_hash(result.run_dir, "calls") == calls
    assert analysis.events(result.run_dir).collect().height == result.counters.events
    assert len(History.load(result.run_dir).calls) == result.counters.requests

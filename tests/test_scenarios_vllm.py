"""Whole scenarios played by SmolLM2-135M through vLLM on the CPU (the session's engine).

Each game is played twice from the same seed on one engine: constrained decoding makes every
action valid, and per-request seeds (in float32, the CPU default) make the second run's logs
identical to the first. Speeches and posts are capped at about 100 plain characters, fewer than
`max_tokens`, so every JSON answer closes (and the tests fit in CI's time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from societas import simulator
from societas.analysis import events, fields
from societas.simulator.backends.vllm import VLLMBackend

# The first test of a game plays it twice on vLLM CPU: a 10-player Traitors game alone took
# 448 s on 2 cores (float32), so two of them pass the suite's 900 s default.
pytestmark = pytest.mark.timeout(1800)

GAMES = {
    "donor_game": {"scenario": {"name": "donor_game", "generations": 2, "rounds": 2,
                                "reasoning": False, "strategy_words": 12},
                   "population": {"size": 6}, "simulations": 2},
    "werewolf": {"scenario": {"name": "werewolf", "reasoning": False, "speech_chars": 100},
                 "population": {"size": 8}},
    "traitors": {"scenario": {"name": "traitors", "reasoning": False, "speech_chars": 100},
                 "population": {"size": 10}},
    "opinion_dynamics": {
        "scenario": {"name": "opinion_dynamics", "exchange": "dyad", "steps": 100,
                     "reasoning": False, "post_words": 12, "reflection_words": 12},
        "population": {"size": 10}, "graph": {"name": "complete"}},
    "debate": {"scenario": {"name": "debate", "rounds": 3, "reasoning": False,
                            "tweet_words": 12, "message_words": 12},
               "population": {"size": 4}},
}


def play(engine, tmp_path, name: str, run_id: str) -> simulator.RunResult:
    config: dict[str, Any] = {**GAMES[name], "backend": {"name": "vllm", "max_tokens": 128},
                              "seed": 5, "out_dir": str(tmp_path), "run_id": run_id,
                              "progress": False}
    return simulator.run(config, model_backend=VLLMBackend(engine=engine))


@pytest.fixture(scope="module")
def played(vllm_engine, tmp_path_factory) -> Callable[[str], tuple[simulator.RunResult, ...]]:
    """Play a game twice from the same seed, once per module (in the first test that asks)."""
    out = tmp_path_factory.mktemp("vllm-games")
    cache: dict[str, tuple[simulator.RunResult, ...]] = {}

    def get(name: str) -> tuple[simulator.RunResult, ...]:
        if name not in cache:
            cache[name] = tuple(play(vllm_engine, out, name, f"{name}-{i}") for i in (1, 2))
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(GAMES))
def test_every_answer_is_valid_and_the_same_seed_replays_the_game(played, name):
    first, second = played(name)
    for result in (first, second):
        counts = result.counters
        assert counts.decisions > 0 and counts.parse_failures == 0 and counts.fallbacks == 0, \
            counts.invalid_by_question
        assert simulator.read_manifest(result.run_dir)["backend"]["model"]["name"] == "vllm"
    assert simulator.content_hash(first.run_dir) == simulator.content_hash(second.run_dir)
    assert simulator.content_hash(first.run_dir, "calls") == \
        simulator.content_hash(second.run_dir, "calls")


@pytest.mark.parametrize("name", ["werewolf", "traitors"])
def test_social_deduction_games_finish_with_a_winner(played, name):
    outcome = played(name)[0].outcomes[0]
    sides = {"werewolf": {"werewolves", "villagers"}, "traitors": {"traitors", "faithfuls"}}
    assert outcome.winner in sides[name]


def test_opinion_reports_stay_on_the_scale(played):
    result = played("opinion_dynamics")[0]
    reports = fields(events(result.run_dir).filter(pl.col("kind") == "reported"),
                     opinion=pl.Float64).collect()
    assert reports.height == 100  # one listener report per exchange
    assert reports["opinion"].is_in([-2.0, -1.0, 0.0, 1.0, 2.0]).all()


def test_debate_ratings_stay_on_the_likert_scale(played):
    result = played("debate")[0]
    ratings = fields(events(result.run_dir).filter(pl.col("kind") == "rated"),
                     rating=pl.Int64, round=pl.Int64).collect()
    assert sorted(ratings["round"].unique()) == [0, 1, 2, 3]
    assert ratings.height == 4 * 4
    assert ratings["rating"].is_between(1, 6).all()


@pytest.mark.parametrize("name", list(GAMES))
def test_a_model_run_replays_offline_to_the_identical_log(played, name):
    report = simulator.replay(played(name)[0].run_dir)
    assert report.identical and report.calls_identical

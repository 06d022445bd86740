"""The debate scenario (DEBATE): groups, pairings, private and public records, convergence."""

from __future__ import annotations

from functools import partial

import numpy as np
import polars as pl
import pytest

from societas import simulator
from societas.analysis import events, fields
from societas.analysis.opinion import debate_summary, group_convergence
from societas.scenarios.debate.rules import matching
from societas.simulator.backends import ScriptedBackend, register_backend
from tests.conftest import small_run_config

config = partial(small_run_config, "debate")


def test_three_rounds_of_four_meet_everyone_once():
    members = ["a", "b", "c", "d"]
    met = [frozenset(p) for r in range(3) for p in matching(members, r)]
    assert len(met) == 6 and len(set(met)) == 6
    for r in range(3):
        assert sorted(x for p in matching(members, r) for x in p) == members


def test_private_ratings_and_public_transcript_are_separate_kinds(tmp_path):
    result = simulator.run(config(tmp_path))
    ev = events(result.run_dir)
    kinds = dict(ev.group_by("kind").len().collect().iter_rows())
    assert kinds["grouped"] == 2
    assert kinds["rated"] == 8 * 4  # before the discussion and after each of 3 rounds
    assert kinds["tweeted"] == 8 * 3 and kinds["messaged"] == 8 * 3
    rated = fields(ev.filter(pl.col("kind") == "rated"), round=pl.Int64, rating=pl.Int64,
                   group=pl.Int64).collect()
    assert rated["target"].null_count() == rated.height  # private: addressed to nobody
    assert rated["rating"].is_between(1, 6).all()
    assert sorted(rated["round"].unique().to_list()) == [0, 1, 2, 3]
    tweets = fields(ev.filter(pl.col("kind") == "tweeted"), group=pl.Int64,
                    round=pl.Int64).collect()
    groups = dict(fields(ev.filter(pl.col("kind") == "grouped"), group=pl.Int64)
                  .collect().select("group", "data").iter_rows())
    assert len(groups) == 2
    # Every post goes to a member of the author's own group, a different one each round.
    partners = tweets.group_by("actor").agg(pl.col("target").n_unique())
    assert (partners["target"] == 3).all()


def test_stubborn_groups_do_not_converge_and_degroot_groups_do(tmp_path):
    stubborn = simulator.run(config(tmp_path, "stubborn", population={"strategy": "stubborn"}))
    assert (group_convergence(events(stubborn.run_dir))["delta_sd_private"] == 0).all()
    degroot = simulator.run(config(tmp_path, "degroot", population={"size": 40}))
    groups = group_convergence(events(degroot.run_dir))
    assert groups.height == 10 and groups["delta_sd_private"].mean() < -0.5
    summary = debate_summary(events(degroot.run_dir))
    assert summary["mean ΔSD private"] < 0 and summary["groups"] == 10


def test_population_must_fill_whole_groups(tmp_path):
    with pytest.raises(simulator.ConfigError, match="population.size: the debate splits agents"):
        simulator.run(config(tmp_path, population={"size": 10}))
    with pytest.raises(simulator.ConfigError, match="group_size must be even"):
        simulator.run(config(tmp_path, scenario={"group_size": 3}, population={"size": 9}))


class Recorder:
    def __init__(self, broken: bool = False) -> None:
        self.requests = []
        self.broken = broken

    def __call__(self, request):
        self.requests.append(request)
        if self.broken:
            return "I agree, sort of."
        rng = np.random.Generator(np.random.PCG64(request.seed))
        return request.question.encode(request.question.sample(rng))


def test_model_prompts_keep_private_ratings_private(tmp_path):
    recorder = Recorder()
    register_backend("debate_rec", lambda cfg, **_: ScriptedBackend(recorder))
    result = simulator.run(config(tmp_path, backend={"name": "debate_rec"},
                                  population={"size": 4, "strategy": "random"}))
    assert len({r.messages[0]["content"] for r in recorder.requests}) == 1
    rates = [r for r in recorder.requests if r.question.name == "rate"]
    assert len(rates) == 16 and all(r.question.constraint().json_schema["properties"]["answer"]
                                    ["enum"] == ["1", "2", "3", "4", "5", "6"] for r in rates)
    tweets = [r for r in recorder.requests if r.question.name == "tweet"]
    schema = tweets[0].question.constraint().json_schema
    assert schema["properties"]["stance"]["minimum"] == 1
    assert schema["properties"]["stance"]["maximum"] == 6
    last_rate = rates[-1].messages[-1]["content"]
    assert "posted to you" in last_rate and "said to you" in last_rate
    rated = fields(events(result.run_dir).filter(pl.col("kind") == "rated"),
                   rating=pl.Int64).collect()
    # Nobody's prompt ever shows another agent's private rating event text.
    everything = " ".join(m["content"] for r in recorder.requests for m in r.messages)
    assert "privately rated" not in everything and rated.height == 16


def test_malformed_ratings_keep_the_previous_rating(tmp_path):
    recorder = Recorder(broken=True)
    register_backend("debate_broken", lambda cfg, **_: ScriptedBackend(recorder))
    result = simulator.run(config(tmp_path, backend={"name": "debate_broken"}, max_attempts=2,
                                  population={"size": 4, "strategy": "random"},
                                  max_fallback_share=1.0))  # fallbacks are the subject
    ev = events(result.run_dir)
    rated = fields(ev.filter(pl.col("kind") == "rated"), round=pl.Int64,
                   rating=pl.Int64).collect()
    start = fields(ev.filter(pl.col("kind") == "rated").filter(
        pl.col("data").str.contains('"round":0')), rating=pl.Int64).collect()
    assert sorted(start["rating"].to_list()) == [1, 2, 3, 4]  # levels 1..6 cycled over 4
    for agent in rated["actor"].unique():
        assert rated.filter(pl.col("actor") == agent)["rating"].n_unique() == 1
    assert result.counters.fallbacks > 0

"""The donor game end to end on the scripted backend: closed forms, selection, prompts."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from societas import simulator
from societas.analysis import donor_game, events, fields
from societas.simulator.backends import ScriptedBackend, register_backend


def scored(run_dir) -> pl.DataFrame:
    return donor_game.final_resources(events(run_dir))


@pytest.mark.parametrize(("pairing", "expected"), [("alternating", 30_720.0),
                                                   ("notebook", 15_360.0)])
def test_everyone_donating_everything_reaches_the_closed_form(small_config, pairing, expected):
    cfg = small_config("donor_game", scenario={"rounds": 12, "generations": 2, "pairing": pairing},
                       population={"strategy": "always_all"})
    result = simulator.run(cfg)
    averages = scored(result.run_dir)["average_final_resources"].to_list()
    assert averages == [expected, expected]
    assert result.outcomes[0].final_average == expected


def test_nobody_donating_keeps_the_endowment(small_config):
    result = simulator.run(small_config("donor_game", scenario={"rounds": 12},
                                        population={"strategy": "always_zero"}))
    assert scored(result.run_dir)["average_final_resources"].to_list() == [10.0, 10.0]


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_fixed_fraction_matches_its_closed_form(small_config, fraction):
    rounds = 12
    result = simulator.run(small_config(
        "donor_game", scenario={"rounds": rounds, "generations": 1},
        population={"strategy": "fixed_fraction", "params": {"fraction": fraction}}))
    # Halves A and B are symmetric: state (a, b). A donates in even rounds, B in odd rounds.
    a_gives = np.array([[1 - fraction, 0.0], [2 * fraction, 1.0]])
    b_gives = np.array([[1.0, 2 * fraction], [0.0, 1 - fraction]])
    state = np.linalg.matrix_power(b_gives @ a_gives, rounds // 2) @ np.array([10.0, 10.0])
    average = scored(result.run_dir)["average_final_resources"].item()
    assert average == pytest.approx(state.mean(), rel=1e-12)


def test_selection_keeps_the_top_half_and_newcomers_copy_survivors(small_config):
    result = simulator.run(small_config(
        "donor_game", scenario={"generations": 3, "rounds": 6},
        population={"groups": [{"count": 6, "strategy": "always_zero"},
                               {"count": 6, "strategy": "always_all"}]}))
    ev = events(result.run_dir)
    scores = fields(ev.filter(pl.col("kind") == "scored"), generation=pl.Int64,
                    resources=pl.Float64, rank=pl.Int64, survived=pl.Boolean).collect()
    for generation in (1, 2, 3):
        rows = scores.filter(pl.col("generation") == generation).sort("rank")
        assert rows["survived"].to_list() == [True] * 6 + [False] * 6
        assert rows["resources"].is_sorted(descending=True)
    born = fields(ev.filter(pl.col("kind") == "born"), parent=pl.String,
                  policy=pl.String).collect()
    assert born.height == 12  # 6 newcomers in generations 2 and 3
    parents = dict(zip(born["actor"], born["parent"], strict=True))
    policies = dict(zip(born["actor"], born["policy"], strict=True))
    survivors_2 = scores.filter((pl.col("generation") == 1) & pl.col("survived"))["actor"]
    assert {parents[c] for c in parents if c.startswith("g2_")} <= set(survivors_2.to_list())
    # Defectors out-earn unconditional cooperators: selection removes the cooperators.
    assert set(policies.values()) == {"always_zero"}


def test_punishment_variant_logs_punishments(small_config):
    result = simulator.run(small_config(
        "donor_game", scenario={"punishment": True, "generations": 2, "rounds": 6},
        population={"strategy": "discriminator",
                    "params": {"threshold": 0.6, "generous": 0.5, "punish": 0.2}}))
    moves = donor_game.donations(events(result.run_dir))
    # generous=0.5 is below the 0.6 threshold, so after round 1 every recipient looks stingy.
    assert moves.filter(pl.col("round") == 1)["action"].unique().to_list() == ["donate"]
    assert set(moves.filter(pl.col("round") > 1)["action"]) == {"punish"}
    summary = donor_game.summary(events(result.run_dir))
    assert 0 < summary["punishment frequency"] < 1


class _Recorder:
    def __init__(self) -> None:
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        return request.question.encode(request.question.fallback_answer(np.random.default_rng(0)))


def test_model_prompts_share_the_prefix_and_carry_trace_and_advice(small_config):
    recorder = _Recorder()
    register_backend("recorder", lambda cfg, **_: ScriptedBackend(recorder))
    simulator.run(small_config("donor_game", backend={"name": "recorder"},
                               population={"strategy": "random"},
                               scenario={"generations": 2, "rounds": 3}))
    systems = {r.messages[0]["content"] for r in recorder.requests}
    assert len(systems) == 1  # one byte-identical system prompt for everyone
    donations = [r for r in recorder.requests if r.question.name == "donate"]
    assert any("did not have any previous interactions" in r.messages[-1]["content"]
               for r in donations)
    assert any("In round 1," in r.messages[-1]["content"] for r in donations)
    advice = [r for r in recorder.requests
              if r.question.name == "strategy" and r.key.agent.startswith("g2_")]
    assert len(advice) == 6
    assert all("best-performing half" in r.messages[-1]["content"] for r in advice)
    assert all(json.loads(r.question.encode(r.question.fallback))["answer"]
               for r in advice)

"""The Traitors end to end on the scripted backend: the rules as Curvo's code plays them."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import partial

import polars as pl
import pytest

from societas import simulator
from societas.analysis import calls, events, fields
from societas.simulator import ConfigError
from tests.conftest import small_run_config

config = partial(small_run_config, "traitors")


def rows(result, kind: str, **dtypes) -> pl.DataFrame:
    frame = events(result.run_dir).filter(pl.col("kind") == kind)
    return fields(frame, **dtypes).sort("sim", "seq").collect()


def voter(vote: str, **answers):
    """One agent that votes for `vote` at the round table (random elsewhere)."""
    return {"count": 1, "strategy": "fixed", "params": {"answers": {"vote": vote, **answers}}}


def test_traitors_know_each_other_and_the_deal_is_random(tmp_path):
    result = simulator.run(config(tmp_path, simulations=20))
    dealt = rows(result, "role_assigned", role=pl.String)
    layouts = set()
    for _, game in dealt.group_by("sim"):
        assert Counter(game["role"]) == {"faithful": 7, "traitor": 3}
        traitors = set(game.filter(pl.col("role") == "traitor")["actor"])
        for row in game.iter_rows(named=True):
            team = set(json.loads(row["data"])["team"])
            assert team == (traitors - {row["actor"]} if row["role"] == "traitor" else set())
        layouts.add(frozenset(traitors))
    assert len(layouts) > 10


TIE = [voter("a1"), voter("a2"), voter("a2"), voter("a1")]  # a1: 2, a2: 2; a1 voted first


@pytest.mark.parametrize(("tie_break", "banished"), [("first_voted", ["a1"]),
                                                     ("no_elimination", [None])])
def test_a_round_table_tie_goes_to_the_first_voted_target(tmp_path, tie_break, banished):
    rules = {"majority": "plurality", "tie_break": tie_break, "self_vote": True}
    result = simulator.run(config(tmp_path, scenario={"traitors": 1, "banishment": rules,
                                                      "max_rounds": 1},
                                  population={"size": 4, "groups": TIE}))
    assert rows(result, "banished")["target"].to_list() == banished
    counts = json.loads(rows(result, "banished")["data"][0])["counts"]
    assert list(counts.items()) == [("a1", 2), ("a2", 2)]


def test_a_random_tie_break_draws_either_leader(tmp_path):
    rules = {"majority": "plurality", "tie_break": "random", "self_vote": True}
    result = simulator.run(config(tmp_path, simulations=30,
                                  scenario={"traitors": 1, "banishment": rules, "max_rounds": 1},
                                  population={"size": 4, "groups": TIE}))
    banished = rows(result, "banished", round=pl.Int64).filter(pl.col("round") == 1)
    assert set(banished["target"]) == {"a1", "a2"}


def test_self_votes_are_allowed_as_in_the_reference_and_can_be_forbidden(tmp_path):
    allowed = simulator.run(config(tmp_path, simulations=20, run_id="allowed",
                                   population={"strategy": "random"}))
    votes = rows(allowed, "voted", ballot=pl.String).filter(pl.col("ballot") == "banish")
    assert (votes["actor"] == votes["target"]).sum() > 0
    rules = {"majority": "plurality", "tie_break": "first_voted", "self_vote": False}
    forbidden = simulator.run(config(tmp_path, simulations=20, run_id="forbidden",
                                     scenario={"banishment": rules},
                                     population={"strategy": "random"}))
    votes = rows(forbidden, "voted", ballot=pl.String).filter(pl.col("ballot") == "banish")
    assert votes.height > 100 and (votes["actor"] == votes["target"]).sum() == 0


def test_the_banished_role_is_revealed_and_the_murdered_role_is_not(tmp_path):
    result = simulator.run(config(tmp_path, simulations=10))
    said = rows(result, "announced", text=pl.String)["text"].to_list()
    banished = [t for t in said if "banished at the round table" in t]
    murdered = [t for t in said if "murdered" in t]
    assert banished and murdered
    assert all(t.endswith(("was a Traitor.", "was a Faithful.")) for t in banished)
    assert all(re.fullmatch(r"a\d+ was murdered by the Traitors during the night\.", t)
               for t in murdered)
    out = rows(result, "banished", role=pl.String).filter(pl.col("target").is_not_null())
    dealt = rows(result, "role_assigned", role=pl.String)
    role = dict(zip(zip(dealt["sim"], dealt["actor"], strict=True), dealt["role"], strict=True))
    assert all(role[(s, t)] == r for s, t, r in zip(out["sim"], out["target"], out["role"],
                                                    strict=True))
    assert "role" not in json.loads(rows(result, "murdered")["data"][0])


def test_the_winner_is_checked_only_at_the_end_of_the_round(tmp_path):
    # 2 traitors (a0, a1), 3 faithfuls: banishing a2 leaves 2 v 2 (parity), but the traitors
    # still meet and murder before the round ends, then win 2 v 1.
    parity = [voter("a2"), voter("a2"), voter("a3"), voter("a2"), voter("a2")]
    result = simulator.run(config(tmp_path, run_id="parity",
                                  scenario={"traitors": 2,
                                            "fixed_roles": {"a0": "traitor", "a1": "traitor"}},
                                  population={"size": 5, "groups": parity}))
    outcome = result.outcomes[0]
    assert (outcome.winner, outcome.rounds, outcome.ended_after) == ("traitors", 1, "round")
    assert rows(result, "banished")["target"].to_list() == ["a2"]
    assert rows(result, "murdered", round=pl.Int64)["round"].to_list() == [1]
    assert rows(result, "plotted").height == 4  # two proposals, two conclusions
    # The last traitor banished: no meeting, no murder, the faithfuls win at the round's end.
    last = [voter("a1"), voter("a0"), voter("a0"), voter("a0")]
    result = simulator.run(config(tmp_path, run_id="last",
                                  scenario={"traitors": 1, "fixed_roles": {"a0": "traitor"}},
                                  population={"size": 4, "groups": last}))
    assert (result.outcomes[0].winner, result.outcomes[0].rounds) == ("faithfuls", 1)
    assert rows(result, "plotted").height == rows(result, "murdered").height == 0


def test_murder_victims_are_faithful_and_heuristic_traitors_agree(tmp_path):
    result = simulator.run(config(tmp_path, simulations=30))
    murdered = rows(result, "murdered", round=pl.Int64)
    dealt = rows(result, "role_assigned", role=pl.String)
    role = dict(zip(zip(dealt["sim"], dealt["actor"], strict=True), dealt["role"], strict=True))
    assert murdered.height > 30
    assert all(role[(s, t)] == "faithful" for s, t in zip(murdered["sim"], murdered["target"],
                                                          strict=True))
    night = rows(result, "voted", ballot=pl.String, round=pl.Int64).filter(
        pl.col("ballot") == "murder")
    per_night = night.group_by("sim", "round").agg(pl.col("target").n_unique())
    assert (per_night["target"] == 1).all()  # the heuristic traitors vote as one


@pytest.mark.parametrize(("passes", "discussed", "reacted"), [(0, 0, 0), (1, 10, 0),
                                                              (2, 10, 10)])
def test_discussion_passes(tmp_path, passes, discussed, reacted):
    result = simulator.run(config(tmp_path, scenario={"discussion_passes": passes,
                                                      "max_rounds": 1}))
    first = rows(result, "discussed", round=pl.Int64).filter(pl.col("round") == 1)
    after = rows(result, "reacted", after=pl.String).filter(pl.col("after") == "discussion")
    assert (first.height, after.height) == (discussed, reacted)


def test_personas_are_introduced_before_the_first_round(tmp_path):
    personas = [{"profession": "nurse", "age": 41}, {"profession": "baker", "age": 29}]
    result = simulator.run(config(tmp_path, population={"personas": personas}))
    said = rows(result, "announced", round=pl.Int64, text=pl.String)
    intros = said.filter(pl.col("round") == 0)["text"].to_list()
    assert len(intros) == 10 and all("introduces themselves: profession:" in t for t in intros)
    notes = rows(result, "summarized", round=pl.Int64).filter(pl.col("round") == 0)
    assert notes.height == 10
    plain = simulator.run(config(tmp_path, run_id="plain"))
    assert rows(plain, "summarized", round=pl.Int64).filter(pl.col("round") == 0).height == 0


def test_eliminated_players_are_never_asked_again(tmp_path):
    a = simulator.run(config(tmp_path, simulations=8, run_id="a"))
    gone = (events(a.run_dir).filter(pl.col("kind").is_in(["banished", "murdered"])
                                     & pl.col("target").is_not_null())
            .select("sim", pl.col("target").alias("agent"), pl.col("step").alias("out"))
            .collect())
    asked = calls(a.run_dir).select("sim", "agent", "step").collect()
    late = asked.join(gone, on=["sim", "agent"]).filter(pl.col("step") > pl.col("out"))
    assert gone.height > 8 and late.height == 0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"scenario": {"traitors": 10}}, "scenario.traitors: 10 traitors need more than 10"),
    ({"scenario": {"fixed_roles": {"a0": "spy"}}}, "'spy' is not a role"),
    ({"scenario": {"traitors": 1, "fixed_roles": {"a0": "traitor", "a1": "traitor"}}},
     "names 2 traitors but traitors=1"),
    ({"scenario": {"banishment": {"majority": "most"}}}, "scenario.banishment.majority"),
])
def test_bad_configs_fail_before_the_run_with_one_line(tmp_path, overrides, message):
    cfg = config(tmp_path)
    for key, value in overrides.items():
        cfg[key] = {**cfg[key], **value}
    with pytest.raises(ConfigError, match=message) as err:
        simulator.run(cfg)
    assert "\n" not in str(err.value)

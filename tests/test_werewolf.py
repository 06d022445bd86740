"""Werewolf end to end on the scripted backend: the rules as Werewolf Arena states them."""

from __future__ import annotations

import json
from collections import Counter
from functools import partial

import polars as pl
import pytest

from societas import simulator
from societas.analysis import calls, events, fields
from societas.simulator import ConfigError
from tests.conftest import small_run_config

config = partial(small_run_config, "werewolf")


def rows(result, kind: str, **dtypes) -> pl.DataFrame:
    frame = events(result.run_dir).filter(pl.col("kind") == kind)
    return fields(frame, **dtypes).sort("sim", "seq").collect()


def fixed(count: int, **answers):
    return {"count": count, "strategy": "fixed", "params": {"answers": answers}}


def test_games_deal_the_arena_roles_and_end_by_parity(tmp_path):
    result = simulator.run(config(tmp_path, simulations=30))
    dealt = rows(result, "role_assigned", role=pl.String, side=pl.String)
    for _, game in dealt.group_by("sim"):
        assert Counter(game["role"]) == {"villager": 4, "werewolf": 2, "seer": 1, "doctor": 1}
        wolves = game.filter(pl.col("role") == "werewolf")
        first, second = wolves["actor"].to_list()
        teams = [json.loads(d)["team"] for d in wolves["data"]]
        assert teams == [[second], [first]]  # each wolf knows the other
    side = dict(zip(zip(dealt["sim"], dealt["actor"], strict=True), dealt["side"], strict=True))
    for sim, outcome in enumerate(result.outcomes):
        alive = Counter(side[(sim, p)] for p in outcome.survivors)
        if outcome.winner == "werewolves":
            assert alive["werewolves"] >= alive["villagers"]
        else:
            assert outcome.winner == "villagers" and alive["werewolves"] == 0
    assert {o.winner for o in result.outcomes} == {"werewolves", "villagers"}


def test_the_seer_never_inspects_itself_or_anyone_twice(tmp_path):
    result = simulator.run(config(tmp_path, simulations=100, population={"strategy": "random"}))
    inspected = rows(result, "inspected", role=pl.String)
    dealt = rows(result, "role_assigned", role=pl.String)
    role = dict(zip(zip(dealt["sim"], dealt["actor"], strict=True), dealt["role"], strict=True))
    assert inspected.height > 100
    for (sim, seer), done in inspected.group_by("sim", "actor"):
        targets = done["target"].to_list()
        assert len(targets) == len(set(targets)) and seer not in targets
        assert all(role[(sim, t)] == r for t, r in zip(targets, done["role"], strict=True))


def test_the_doctor_may_protect_itself_and_saves_the_victim(tmp_path):
    cfg = config(tmp_path, scenario={"fixed_roles": {"a0": "doctor", "a1": "werewolf",
                                                     "a2": "werewolf"}},
                 population={"strategy": "random",
                             "groups": [fixed(1, protect="a0"), fixed(2, attack="a0")]})
    result = simulator.run(cfg)
    protected = rows(result, "protected", round=pl.Int64)
    assert (protected["actor"] == "a0").all() and (protected["target"] == "a0").all()
    assert rows(result, "killed").filter(pl.col("target") == "a0").height == 0
    said = rows(result, "announced", round=pl.Int64, text=pl.String)
    first_night = said.filter(pl.col("round") == 1)["text"][0]
    assert first_night == "No one was removed from the game during the night."


def test_the_game_ends_right_after_a_night_that_reaches_parity(tmp_path):
    result = simulator.run(config(tmp_path, scenario={"roles": {"werewolf": 1, "villager": 2}},
                                  population={"size": 3}, simulations=5))
    for outcome in result.outcomes:
        assert (outcome.winner, outcome.ended_after, outcome.rounds) == ("werewolves", "night", 1)
    kinds = set(events(result.run_dir).select("kind").collect()["kind"])
    assert "killed" in kinds and not kinds & {"bid", "debated", "voted", "exiled"}


def test_the_game_ends_after_the_day_that_exiles_the_last_wolf(tmp_path):
    cfg = config(tmp_path, scenario={"roles": {"werewolf": 1, "villager": 3},
                                     "fixed_roles": {"a0": "werewolf"}},
                 population={"size": 4, "groups": [{"count": 1, "strategy": "random"},
                                                    fixed(3, vote="a0")]}, simulations=5)
    result = simulator.run(cfg)
    for outcome in result.outcomes:
        assert (outcome.winner, outcome.ended_after, outcome.rounds) == ("villagers", "day", 1)
    exiled = rows(result, "exiled", reason=pl.String)
    assert exiled["target"].to_list() == ["a0"] * 5
    assert set(exiled["reason"]) == {"strict_majority"}
    assert rows(result, "summarized").height == 0  # no summaries once the game is won


def final_polls(result) -> pl.DataFrame:
    votes = rows(result, "voted", round=pl.Int64, final=pl.Boolean)
    return votes.filter(pl.col("final"))


def test_exile_needs_a_strict_majority_of_alive_players(tmp_path):
    result = simulator.run(config(tmp_path, simulations=60, population={"strategy": "random"}))
    votes = final_polls(result)
    exiled = rows(result, "exiled", round=pl.Int64, reason=pl.String)
    assert set(exiled["reason"]) == {"strict_majority", "no_majority"}
    for row in exiled.iter_rows(named=True):
        poll = votes.filter((pl.col("sim") == row["sim"]) & (pl.col("round") == row["round"]))
        top_target, top = Counter(poll["target"]).most_common(1)[0]
        alive = poll.height  # every alive player votes
        if row["target"] is None:
            assert top <= alive / 2
        else:
            assert row["target"] == top_target and top > alive / 2


def test_plurality_exiles_the_first_voted_leader(tmp_path):
    vote = {"majority": "plurality", "tie_break": "first_voted", "self_vote": False}
    result = simulator.run(config(tmp_path, simulations=40, scenario={"vote": vote},
                                  population={"strategy": "random"}))
    votes = final_polls(result)
    exiled = rows(result, "exiled", round=pl.Int64, reason=pl.String)
    assert "tie_first_voted" in set(exiled["reason"])
    for row in exiled.iter_rows(named=True):
        poll = votes.filter((pl.col("sim") == row["sim"]) & (pl.col("round") == row["round"]))
        counts = Counter(poll["target"])  # Counter keeps first-seen order on ties
        assert row["target"] == max(counts, key=counts.__getitem__)


def test_synthetic_votes_follow_every_debate_turn_and_only_the_last_counts(tmp_path):
    result = simulator.run(config(tmp_path, scenario={"synthetic_votes": True,
                                                      "debate_turns": 4}))
    votes = rows(result, "voted", round=pl.Int64, final=pl.Boolean, turn=pl.Int64)
    first_day = votes.filter(pl.col("round") == 1)
    assert first_day.filter(~pl.col("final"))["turn"].unique().sort().to_list() == [1, 2, 3]
    assert first_day.filter(pl.col("final"))["turn"].null_count() == first_day.filter(
        pl.col("final")).height > 0
    default = simulator.run(config(tmp_path, run_id="default"))
    assert rows(default, "voted", final=pl.Boolean)["final"].all()


def test_guard_and_witch_follow_their_limits(tmp_path):
    roles = {"werewolf": 2, "seer": 1, "witch": 1, "guard": 1, "villager": 2}
    result = simulator.run(config(tmp_path, simulations=80, scenario={"roles": roles},
                                  population={"size": 7, "strategy": "random"}))
    guarded = rows(result, "guarded", round=pl.Int64)
    assert guarded.height > 80
    for _, nights in guarded.group_by("sim", "actor"):
        targets = nights.sort("round")["target"].to_list()
        assert all(a != b for a, b in zip(targets, targets[1:], strict=False))
    for kind in ("healed", "poisoned"):
        used = rows(result, kind)
        assert used.height > 10
        assert used.group_by("sim", "actor").len()["len"].max() == 1  # once per game
    healed = rows(result, "healed", round=pl.Int64)
    attacked = rows(result, "attacked", round=pl.Int64)
    killed = rows(result, "killed", round=pl.Int64, cause=pl.String)
    for row in healed.iter_rows(named=True):
        night = (pl.col("sim") == row["sim"]) & (pl.col("round") == row["round"])
        assert attacked.filter(night)["target"].to_list() == [row["target"]]
        assert killed.filter(night & (pl.col("cause") == "attack")).height == 0


def test_eliminated_players_are_never_asked_again(tmp_path):
    result = simulator.run(config(tmp_path, simulations=30, population={"strategy": "random"}))
    gone = (events(result.run_dir).filter(pl.col("kind").is_in(["killed", "exiled"])
                                          & pl.col("target").is_not_null())
            .select("sim", pl.col("target").alias("agent"), pl.col("step").alias("out"))
            .collect())
    asked = calls(result.run_dir).select("sim", "agent", "step").collect()
    late = asked.join(gone, on=["sim", "agent"]).filter(pl.col("step") > pl.col("out"))
    assert gone.height > 30 and late.height == 0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"population": {"size": 9}}, "population.size: the roles .* need 8 players, got 9"),
    ({"scenario": {"roles": {"werewolf": 2, "wizard": 1, "villager": 5}}},
     r"scenario.roles: .*unknown role\(s\) \['wizard'\]"),
    ({"scenario": {"roles": {"werewolf": 4, "villager": 4}}},
     "more villager-side players than werewolves"),
    ({"scenario": {"fixed_roles": {"a0": "witch"}}}, "'witch' is not dealt"),
])
def test_bad_configs_fail_before_the_run_with_one_line(tmp_path, overrides, message):
    cfg = config(tmp_path)
    for key, value in overrides.items():
        cfg[key] = {**cfg[key], **value}
    with pytest.raises(ConfigError, match=message) as err:
        simulator.run(cfg)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing started

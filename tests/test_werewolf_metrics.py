"""Werewolf metrics on a hand-built event log whose answers are worked out by hand."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from societas.analysis import social, werewolf

ROLES = {"w1": "werewolf", "w2": "werewolf", "s": "seer", "d": "doctor", "v1": "villager",
         "v2": "villager", "v3": "villager", "v4": "villager"}


def log(rows: list[tuple[str, str | None, str | None, dict]], sim: int = 0) -> list[dict]:
    return [{"run_id": "hand", "sim": sim, "seq": seq, "step": 0, "phase": "", "kind": kind,
             "actor": actor, "target": target, "data": json.dumps(data)}
            for seq, (kind, actor, target, data) in enumerate(rows)]


def vote(voter: str, target: str, round: int, final: bool = True, turn: int | None = None):
    return ("voted", voter, target, {"round": round, "ballot": "exile", "final": final,
                                     "turn": turn})


def game() -> pl.LazyFrame:
    rows = [("role_assigned", p, None,
             {"role": r, "side": "werewolves" if r == "werewolf" else "villagers",
              "policy": "model" if r == "werewolf" else "heuristic", "team": []})
            for p, r in ROLES.items()]
    rows += [
        ("debated", "w1", None, {"round": 1, "turn": 1, "say": "I'm the seer, trust me."}),
        ("debated", "s", None, {"round": 1, "turn": 2, "say": "I have a feeling about w1."}),
        vote("v1", "v2", 1, final=False, turn=1),  # a straw poll: not a counted vote
        # round 1: villager side 4 of 6 on wolves; w2 votes for w1 (bus); entropy 1.75 bits
        *[vote(v, t, 1) for v, t in [("v1", "w1"), ("v2", "w1"), ("v3", "s"), ("v4", "w2"),
                                     ("s", "w1"), ("d", "v1"), ("w1", "s"), ("w2", "w1")]],
        ("exiled", None, None, {"round": 1, "counts": {}, "reason": "no_majority"}),
        ("killed", None, "v1", {"round": 2, "cause": "attack"}),
        ("debated", "s", None, {"round": 2, "turn": 1, "say": "I am the Seer. w2 is a wolf."}),
        # round 2: villager side 5 of 5; no bus; entropy H(5/7, 2/7)
        *[vote(v, t, 2) for v, t in [("v2", "w2"), ("v3", "w2"), ("v4", "w2"), ("s", "w2"),
                                     ("d", "w2"), ("w1", "s"), ("w2", "s")]],
        ("exiled", None, "w2", {"round": 2, "counts": {}, "reason": "strict_majority"}),
        ("killed", None, "s", {"round": 3, "cause": "attack"}),
        # round 3: villager side 3 of 4; w1 alone (no partner voting); entropy H(.6, .2, .2)
        *[vote(v, t, 3) for v, t in [("v2", "w1"), ("v3", "d"), ("v4", "w1"), ("d", "w1"),
                                     ("w1", "v2")]],
        ("exiled", None, "w1", {"round": 3, "counts": {}, "reason": "strict_majority"}),
        ("outcome", None, None, {"winner": "villagers", "rounds": 3, "ended_after": "day"}),
    ]
    return pl.LazyFrame(log(rows))


def h(*shares: float) -> float:
    return -sum(p * math.log2(p) for p in shares)


def test_vote_accuracy_counts_villager_side_final_votes_on_wolves():
    assert werewolf.vote_accuracy(game()) == pytest.approx(12 / 15)
    assert werewolf.vote_accuracy(game(), final=False) == 0.0  # the straw poll alone
    by_round = werewolf.vote_accuracy_by_round(game())
    assert by_round["vote_accuracy"].to_list() == pytest.approx([4 / 6, 1.0, 3 / 4])
    assert by_round["votes"].to_list() == [6, 5, 4]


def test_bus_rate_counts_wolf_votes_for_a_partner_while_a_partner_votes():
    assert werewolf.bus_rate(game()) == pytest.approx(1 / 4)


def test_voting_entropy_averages_each_exile_vote():
    expected = (1.75 + h(5 / 7, 2 / 7) + h(0.6, 0.2, 0.2)) / 3
    assert werewolf.voting_entropy(game()) == pytest.approx(expected)
    assert h(0.5, 0.25, 0.125, 0.125) == pytest.approx(1.75)


def test_seer_reveal_timing_ignores_other_players_claims():
    reveals = werewolf.seer_reveals(game())
    assert reveals.select("seer", "reveal_round", "removed_round",
                          "removed_after_reveal").row(0) == ("s", 2, 3, True)


def test_win_rates_by_side_role_and_policy_and_game_length():
    by_side = social.win_rates(game(), "side")
    assert by_side.select("side", "games", "wins").rows() == [("villagers", 1, 1),
                                                              ("werewolves", 1, 0)]
    by_role = dict(social.win_rates(game(), "role").select("role", "rate").rows())
    assert by_role == {"doctor": 1.0, "seer": 1.0, "villager": 1.0, "werewolf": 0.0}
    by_policy = social.win_rates(game(), "policy").select("policy", "side", "rate").rows()
    assert by_policy == [("heuristic", "villagers", 1.0), ("model", "werewolves", 0.0)]
    assert social.game_length(game())["mean rounds"] == 3


def test_wilson_interval_matches_the_textbook_values():
    assert social.wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert social.wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    assert all(math.isnan(x) for x in social.wilson(0, 0))


def test_summary_has_every_headline_metric():
    out = werewolf.summary(game())
    assert out["games"] == 1
    assert out["villagers win rate [95% CI]"].startswith("1.000 [0.207, 1.000] (n=1)")
    assert out["vote accuracy (villager side)"] == pytest.approx(0.8)
    assert out["bus rate"] == pytest.approx(0.25)
    assert out["seer reveal rate"] == 1.0 and out["seer first reveal round (mean)"] == 2

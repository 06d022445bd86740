"""The Traitors' metrics on hand-built event logs whose answers are worked out by hand.

Game 0 (traitors t1, t2; faithfuls f1–f4), traitors win in round 2:
  round 1  banish  f1>t1 f2>f3 f3>f3 f4>t1 t1>f3 t2>f2   -> f3 banished (3 votes)
           murder  t1>f1 t2>f2                           -> f1 murdered (tie, first voted)
  round 2  banish  f4>t1 f2>t2 t1>f2 t2>f2               -> f2 banished
           murder  t1>f4 t2>f4                           -> f4 murdered
Game 1 (traitor t1; faithfuls f1–f3), faithfuls win in round 1:
  round 1  banish  f1>t1 f2>t1 f3>t1 t1>f1               -> t1 banished, no murder
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from societas.analysis import social, traitors

GAME_0 = {"t1": "traitor", "t2": "traitor", "f1": "faithful", "f2": "faithful",
          "f3": "faithful", "f4": "faithful"}
GAME_1 = {"t1": "traitor", "f1": "faithful", "f2": "faithful", "f3": "faithful"}


def log(rows: list[tuple[str, str | None, str | None, dict]], sim: int) -> list[dict]:
    return [{"run_id": "hand", "sim": sim, "seq": seq, "step": 0, "phase": "", "kind": kind,
             "actor": actor, "target": target, "data": json.dumps(data)}
            for seq, (kind, actor, target, data) in enumerate(rows)]


def dealt(roles: dict[str, str]) -> list[tuple]:
    return [("role_assigned", p, None, {"role": r, "side": r + "s", "policy": "model",
                                        "team": []}) for p, r in roles.items()]


def ballot(kind: str, round: int, pairs: str) -> list[tuple]:
    votes = [pair.split(">") for pair in pairs.split()]
    return [("voted", v, t, {"round": round, "ballot": kind, "final": True, "turn": None})
            for v, t in votes]


def out(kind: str, target: str, round: int, role: str | None = None) -> tuple:
    data = {"round": round, "counts": {}, "reason": "plurality"}
    if kind == "banished":
        data["role"] = role
    return (kind, None, target, data)


def events() -> pl.LazyFrame:
    game_0 = [
        *dealt(GAME_0),
        *ballot("banish", 1, "f1>t1 f2>f3 f3>f3 f4>t1 t1>f3 t2>f2"),
        out("banished", "f3", 1, "faithful"),
        *ballot("murder", 1, "t1>f1 t2>f2"), out("murdered", "f1", 1),
        *ballot("banish", 2, "f4>t1 f2>t2 t1>f2 t2>f2"),
        out("banished", "f2", 2, "faithful"),
        *ballot("murder", 2, "t1>f4 t2>f4"), out("murdered", "f4", 2),
        ("outcome", None, None, {"winner": "traitors", "rounds": 2, "ended_after": "round"}),
    ]
    game_1 = [
        *dealt(GAME_1),
        *ballot("banish", 1, "f1>t1 f2>t1 f3>t1 t1>f1"),
        out("banished", "t1", 1, "traitor"),
        ("outcome", None, None, {"winner": "faithfuls", "rounds": 1, "ended_after": "round"}),
    ]
    return pl.LazyFrame(log(game_0, 0) + log(game_1, 1))


EXPECTED = {
    #          game 0                      game 1
    "FAS": (0.5, 1.0),            # r1 t1:2 f3:2 of 4; r2 1 of 2      | 3 of 3
    "TAS": (0.75, None),          # r1 1 of 2, r2 2 of 2              | no murder vote
    "FCR": (0.75, 1.0),           # r1 2 of 4, r2 2 of 2              | 3 of 3
    "TSR": (1.0, 0.0),
    "FSR": (0.0, 1.0),            # f3, f1, f2, f4 all eliminated     | none
    "DES_night": (0.5, None),     # r1 t2 missed f1; r2 unanimous     | no murder
    "DES_day": (0.5, 0.0),        # r1 t2 voted f2; r2 both on f2     | a traitor banished
    "BRR": (0.25, 0.0),           # r1 0 of 2; r2 f2>t2 off the plurality t1: 1 of 2
    "VSF": (0.5, None),           # r2: f4 and t2 kept their targets  | nobody voted twice
    "TNS": (0.5, None),
    "VSF_code": ((7 / 8 + 4 / 6) / 2, 1.0),  # every vote in order, first votes switch
}


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_per_game_metrics(metric):
    table = traitors.per_game(events())
    got = table.sort("sim")[metric].to_list()
    want = EXPECTED[metric]
    for g, w in zip(got, want, strict=True):
        assert (g is None) if w is None else g == pytest.approx(w), (metric, got, want)


def test_the_summary_averages_over_games_and_skips_undefined_ones():
    out = traitors.summary(events())
    assert out["games"] == 2
    assert out["FAS"] == pytest.approx(0.75)
    assert out["TAS"] == pytest.approx(0.75)  # game 1 had no murder vote
    assert out["DES_day"] == pytest.approx(0.25)
    assert out["traitors win rate [95% CI]"].startswith("0.500 ")
    assert out["mean rounds"] == 1.5


def test_win_rates_by_role_count_each_game_once():
    rates = social.win_rates(events(), "role").select("role", "games", "wins").rows()
    assert rates == [("faithful", 2, 1), ("traitor", 2, 1)]

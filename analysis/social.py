"""Metrics shared by social-deduction games (Werewolf, The Traitors), read from event logs.

Every function takes the events LazyFrame of one or many runs (`analysis.events`) and returns a
polars DataFrame; a game is identified by ``(run_id, sim)``. Roles come from the
``role_assigned`` events, outcomes from the ``outcome`` event, votes from ``voted`` events.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from societas.analysis._scalars import number_or_none
from societas.analysis.load import fields

GAME = ["run_id", "sim"]
Z95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""


def roles(events: pl.LazyFrame) -> pl.DataFrame:
    """One row per player and game: player, role, side, policy."""
    dealt = fields(events.filter(pl.col("kind") == "role_assigned"), role=pl.String,
                   side=pl.String, policy=pl.String)
    return (dealt.select(*GAME, pl.col("actor").alias("player"), "role", "side", "policy")
            .sort(*GAME, "player").collect())


def outcomes(events: pl.LazyFrame) -> pl.DataFrame:
    """One row per game: winner (None for a draw), rounds played, when it ended."""
    ended = fields(events.filter(pl.col("kind") == "outcome"), winner=pl.String,
                   rounds=pl.Int64, ended_after=pl.String)
    return ended.select(*GAME, "winner", "rounds", "ended_after").sort(*GAME).collect()


def votes(events: pl.LazyFrame) -> pl.DataFrame:
    """One row per vote, in casting order, with the voter's and the target's role and side."""
    cast = fields(events.filter(pl.col("kind") == "voted"), round=pl.Int64, ballot=pl.String,
                  final=pl.Boolean, turn=pl.Int64)
    cast = cast.select(*GAME, "seq", "round", "ballot", "final", "turn",
                       pl.col("actor").alias("voter"), "target").collect()
    who = roles(events).select(*GAME, "player", "role", "side")
    voter = who.rename({"player": "voter", "role": "voter_role", "side": "voter_side"})
    target = who.rename({"player": "target", "role": "target_role", "side": "target_side"})
    return (cast.join(voter, on=[*GAME, "voter"], how="left")
            .join(target, on=[*GAME, "target"], how="left").sort(*GAME, "seq"))


def wilson(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (``(nan, nan)`` when n is 0)."""
    if n == 0:
        return math.nan, math.nan
    p = wins / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def _rates(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Games, wins, rate and 95% Wilson interval per `key` (one row per game and key)."""
    table = (frame.group_by(key, maintain_order=True)
             .agg(pl.len().alias("games"), pl.col("won").sum().alias("wins"))
             .sort(key))
    bounds = [wilson(w, n) for w, n in zip(table["wins"], table["games"], strict=True)]
    return table.with_columns(
        (pl.col("wins") / pl.col("games")).alias("rate"),
        pl.Series("ci_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("ci_high", [b[1] for b in bounds], dtype=pl.Float64),
    )


def win_rates(events: pl.LazyFrame, by: str = "side") -> pl.DataFrame:
    """Win rate with a 95% Wilson interval, by ``side``, ``role`` or ``policy``.

    A game counts once for each side, role, or (policy, side) pair present in it, and is won
    when that side won; draws count as games not won. By ``policy`` the table has one row per
    policy and side (e.g. the model as werewolves, the model as villagers).
    """
    if by not in ("side", "role", "policy"):
        raise ValueError(f"by must be 'side', 'role' or 'policy', got {by!r}")
    key = ["policy", "side"] if by == "policy" else [by]
    columns = list(dict.fromkeys([*key, "side"]))
    present = roles(events).select(*GAME, *columns).unique()
    games = present.join(outcomes(events).select(*GAME, "winner"), on=GAME, how="inner")
    games = games.with_columns((pl.col("winner") == pl.col("side")).fill_null(False)
                               .alias("won"))
    return _rates(games.unique([*GAME, *key]), key)


def game_length(events: pl.LazyFrame) -> dict[str, float | None]:
    """Rounds per game: mean, median, min, max, and the share of draws."""
    ended = outcomes(events)
    if ended.height == 0:
        return {"games": 0}
    rounds = ended["rounds"]
    return {"games": ended.height, "mean rounds": number_or_none(rounds.mean()),
            "median rounds": number_or_none(rounds.median()),
            "min rounds": number_or_none(rounds.min()),
            "max rounds": number_or_none(rounds.max()),
            "draw share": number_or_none(ended["winner"].is_null().mean())}


def agreement(ballots: pl.DataFrame) -> pl.DataFrame:
    """Per game and round: the share of votes that went to the most-voted target."""
    counts = ballots.group_by(*GAME, "round", "target").len()
    return (counts.group_by(*GAME, "round")
            .agg((pl.col("len").max() / pl.col("len").sum()).alias("value"))
            .sort(*GAME, "round"))


def entropy(ballots: pl.DataFrame) -> pl.DataFrame:
    """Per game and round: Shannon entropy (bits) of the distribution of vote targets."""
    counts = ballots.group_by(*GAME, "round", "target").len()
    share = pl.col("len") / pl.col("len").sum().over(*GAME, "round")
    return (counts.with_columns((-share * share.log(2)).alias("h"))
            .group_by(*GAME, "round").agg(pl.col("h").sum().alias("value"))
            .sort(*GAME, "round"))


def per_game_mean(per_round: pl.DataFrame, name: str) -> pl.DataFrame:
    """Mean over rounds of a per-round ``value``, one row per game, column `name`."""
    return (per_round.group_by(*GAME).agg(pl.col("value").mean().alias(name)).sort(*GAME))


def format_rate(row: dict[str, float]) -> str:
    """``0.523 [0.401, 0.641] (n=64)`` for a `win_rates` row."""
    return f"{row['rate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] (n={row['games']})"


def headline(events: pl.LazyFrame) -> dict[str, object]:
    """Games, per-side win rates with 95% intervals, and game length (for ``societas show``)."""
    out: dict[str, object] = {}
    length = game_length(events)
    out["games"] = length.get("games", 0)
    for row in win_rates(events, "side").iter_rows(named=True):
        out[f"{row['side']} win rate [95% CI]"] = format_rate(row)
    for name in ("mean rounds", "draw share"):
        if name in length:
            out[name] = length[name]
    return out


def _voted(f: dict[str, object]) -> str:
    poll = "" if f.get("final", True) else f" (straw poll after turn {f.get('turn')})"
    return f"{f['actor']} votes to {f['ballot']} {f['target']}{poll}"


def _tally(f: dict[str, Any]) -> str:
    counts = f.get("counts") or {}
    return ", ".join(f"{who} {n}" for who, n in sorted(counts.items(), key=lambda c: -c[1]))


TIMELINE = {
    "role_assigned": lambda f: (f"{f['actor']} is {f['role']} ({f['side']}, {f['policy']})"
                                + (f", team {f['team']}" if f.get("team") else "")),
    "announced": "Moderator: {text}",
    "voted": _voted,
    "summarized": "{actor} notes: {summary}",
}
"""How `societas view` describes events both social-deduction games share."""

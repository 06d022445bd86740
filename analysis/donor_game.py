"""Donor-game metrics (Vallinder & Hughes 2024): resources per generation, donations, punishment."""

from __future__ import annotations

from typing import Any

import polars as pl

from societas.analysis._registry import ScenarioAnalysis
from societas.analysis.load import fields

TIMELINE = {
    "generation_started": "generation {generation} begins: A = {group_a}, B = {group_b}",
    "strategy_chosen": "{actor} (generation {generation}) will play: {strategy}",
    "donated": lambda f: (f"{f['actor']} gives {f['amount']:.2f} ({f['fraction']:.0%}) to "
                          f"{f['target']} → {f['donor_after']:.2f} / {f['recipient_after']:.2f}"
                          if f["action"] == "donate" else
                          f"{f['actor']} punishes {f['target']} with {f['amount']:.2f} → "
                          f"{f['donor_after']:.2f} / {f['recipient_after']:.2f}"),
    "scored": lambda f: (f"{f['actor']} ends generation {f['generation']} with "
                         f"{f['resources']:.2f} (rank {f['rank']}, "
                         f"{'survives' if f['survived'] else 'removed'})"),
    "born": "{actor} is born into generation {generation}, heir of {parent} ({policy})",
}
"""How `societas view` describes donor-game events."""


def final_resources(events: pl.LazyFrame) -> pl.DataFrame:
    """Average final resources per agent, by run, simulation and generation."""
    scored = fields(events.filter(pl.col("kind") == "scored"), generation=pl.Int64,
                    resources=pl.Float64)
    return (scored.group_by("run_id", "sim", "generation")
            .agg(pl.col("resources").mean().alias("average_final_resources"))
            .sort("run_id", "sim", "generation").collect())


def donations(events: pl.LazyFrame) -> pl.DataFrame:
    """One row per encounter: generation, round, action, amount, share of the donor's resources."""
    moves = events.filter(pl.col("kind") == "donated")
    return fields(moves, generation=pl.Int64, round=pl.Int64, action=pl.String,
                  amount=pl.Float64, fraction=pl.Float64).select(
        "run_id", "sim", "actor", "target", "generation", "round", "action", "amount",
        "fraction").sort("run_id", "sim", "generation", "round", "actor").collect()


def donation_by_generation(events: pl.LazyFrame) -> pl.DataFrame:
    """Mean donation fraction and punishment frequency per generation (over all runs)."""
    return (donations(events).lazy().group_by("generation").agg(
        pl.col("fraction").filter(pl.col("action") == "donate").mean()
        .alias("mean_donation_fraction"),
        (pl.col("action") == "punish").mean().alias("punishment_frequency"),
        pl.len().alias("encounters"),
    ).sort("generation").collect())


def summary(events: pl.LazyFrame) -> dict[str, Any]:
    """Headline figures of one or several donor-game runs."""
    resources = final_resources(events)
    moves = donations(events)
    last = resources["generation"].max()
    by_gen = resources.group_by("generation").agg(pl.col("average_final_resources").mean())
    by_gen = dict(zip(by_gen["generation"], by_gen["average_final_resources"], strict=True))
    donate = moves.filter(pl.col("action") == "donate")
    return {
        "simulations": resources.select("run_id", "sim").n_unique(),
        "generations": last,
        "average final resources, generation 1": by_gen.get(1),
        f"average final resources, generation {last}": by_gen.get(last),
        "mean donation fraction": donate["fraction"].mean() if donate.height else None,
        "punishment frequency": (moves["action"] == "punish").mean() if moves.height else None,
    }


ANALYSIS = ScenarioAnalysis(summary=summary, timeline=TIMELINE)
"""The donor game's analysis (entry point ``societas.analysis``: ``donor_game``)."""

"""Werewolf metrics (Werewolf Arena and the research notes, §3.1 and §3.3), from event logs.

- vote accuracy: villager-side votes cast on werewolves / villager-side votes (exile votes that
  count; `final=False` reads the straw polls instead);
- seer reveal timing: the first round in which a seer claims the role in the debate, whether it
  ever does, and whether it was removed right after (exiled that day or killed the next night);
- bus rate: werewolf votes cast for a fellow werewolf / werewolf votes cast while a fellow
  werewolf was voting too (so the partner was alive);
- voting entropy: Shannon entropy (bits) of each exile vote's targets, averaged over votes;
- win rate by side, role and policy, game length (`analysis.social`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from societas.analysis._registry import ScenarioAnalysis
from societas.analysis._scalars import number
from societas.analysis.load import fields
from societas.analysis.social import GAME, _tally, entropy, headline, votes
from societas.analysis.social import TIMELINE as SHARED_TIMELINE

WOLVES = "werewolves"
SEER_CLAIM = r"(?i)\bI(?: am|'m)\s+(?:the\s+|a\s+)?seer\b"
"""What counts as a seer claiming its role in a speech (``I am the Seer``, ``I'm a seer``).
Speeches are free text: pass your own pattern to `seer_reveals` for other phrasings."""


def exile_votes(events: pl.LazyFrame, *, final: bool = True) -> pl.DataFrame:
    """Exile votes with voter and target roles (`final=False`: the straw polls)."""
    cast = votes(events)
    return cast.filter((pl.col("ballot") == "exile") & (pl.col("final") == final))


def vote_accuracy(events: pl.LazyFrame, *, final: bool = True) -> float | None:
    """Villager-side votes on werewolves / villager-side votes (None without such votes)."""
    village = exile_votes(events, final=final).filter(pl.col("voter_side") != WOLVES)
    if village.height == 0:
        return None
    return float(number((village["target_side"] == WOLVES).mean()))


def vote_accuracy_by_round(events: pl.LazyFrame, *, final: bool = True) -> pl.DataFrame:
    """Vote accuracy pooled over games, per round."""
    village = exile_votes(events, final=final).filter(pl.col("voter_side") != WOLVES)
    return (village.group_by("round").agg((pl.col("target_side") == WOLVES).mean()
                                          .alias("vote_accuracy"), pl.len().alias("votes"))
            .sort("round"))


def bus_rate(events: pl.LazyFrame, *, final: bool = True) -> float | None:
    """Werewolf votes for a fellow werewolf / werewolf votes cast while a fellow voted too."""
    cast = exile_votes(events, final=final)
    poll = [*GAME, "round", "turn"]
    wolves = cast.filter(pl.col("voter_side") == WOLVES).with_columns(
        pl.len().over(poll).alias("wolves_voting"))
    eligible = wolves.filter(pl.col("wolves_voting") > 1)
    if eligible.height == 0:
        return None
    return float(number((eligible["target_side"] == WOLVES).mean()))


def voting_entropy(events: pl.LazyFrame, *, final: bool = True) -> float | None:
    """Mean over exile votes (one per game and round) of the targets' entropy in bits."""
    per_poll = entropy(exile_votes(events, final=final))
    return float(number(per_poll["value"].mean())) if per_poll.height else None


def seer_reveals(events: pl.LazyFrame, pattern: str = SEER_CLAIM) -> pl.DataFrame:
    """One row per seer and game: first reveal round, and whether it was removed right after.

    Columns: ``run_id, sim, seer, reveal_round`` (null: never claimed), ``removed_round``
    (null: survived), ``removed_after_reveal`` (exiled in the reveal round or killed in the
    night after it).
    """
    seers = (fields(events.filter(pl.col("kind") == "role_assigned"), role=pl.String)
             .filter(pl.col("role") == "seer").select(*GAME, pl.col("actor").alias("seer")))
    said = fields(events.filter(pl.col("kind") == "debated"), round=pl.Int64, say=pl.String)
    claims = (said.filter(pl.col("say").str.contains(pattern))
              .group_by(*GAME, pl.col("actor").alias("seer"))
              .agg(pl.col("round").min().alias("reveal_round")))
    gone = fields(events.filter(pl.col("kind").is_in(["killed", "exiled"])
                                & pl.col("target").is_not_null()), round=pl.Int64)
    removed = (gone.select(*GAME, pl.col("target").alias("seer"), "kind", "round")
               .group_by(*GAME, "seer").agg(pl.col("round").min().alias("removed_round"),
                                            pl.col("kind").sort_by("round").first()
                                            .alias("removed_by")))
    table = (seers.join(claims, on=[*GAME, "seer"], how="left")
             .join(removed, on=[*GAME, "seer"], how="left").collect())
    after = (((pl.col("removed_by") == "exiled")
              & (pl.col("removed_round") == pl.col("reveal_round")))
             | ((pl.col("removed_by") == "killed")
                & (pl.col("removed_round") == pl.col("reveal_round") + 1)))
    return (table.with_columns(after.fill_null(False).alias("removed_after_reveal"))
            .select(*GAME, "seer", "reveal_round", "removed_round", "removed_after_reveal")
            .sort(*GAME, "seer"))


def summary(events: pl.LazyFrame) -> dict[str, Any]:
    """Headline figures of one or several Werewolf runs."""
    out: dict[str, Any] = headline(events)
    out["vote accuracy (villager side)"] = vote_accuracy(events)
    out["bus rate"] = bus_rate(events)
    out["voting entropy (bits)"] = voting_entropy(events)
    reveals = seer_reveals(events)
    if reveals.height:
        revealed = reveals.filter(pl.col("reveal_round").is_not_null())
        out["seer reveal rate"] = revealed.height / reveals.height
        out["seer first reveal round (mean)"] = (revealed["reveal_round"].mean()
                                                 if revealed.height else None)
    return out


TIMELINE = {
    **SHARED_TIMELINE,
    "attacked": "night {round}: the werewolves ({actor}) attack {target}",
    "protected": "night {round}: the doctor {actor} protects {target}",
    "guarded": "night {round}: the guard {actor} guards {target}",
    "inspected": "night {round}: the seer {actor} learns that {target} is {role}",
    "healed": "night {round}: the witch {actor} heals {target}",
    "poisoned": "night {round}: the witch {actor} poisons {target}",
    "killed": "{target} dies ({cause}, round {round})",
    "bid": lambda f: (f"turn {f['turn']} bids: "
                      + ", ".join(f"{a} {b}" for a, b in f["bids"].items())),
    "debated": "{actor} says: {say}",
    "exiled": lambda f: (f"{f['target']} is exiled ({_tally(f)})" if f.get("target")
                         else f"nobody is exiled: {f['reason']} ({_tally(f)})"),
}
"""How `societas view` describes Werewolf events."""

ANALYSIS = ScenarioAnalysis(summary=summary, timeline=TIMELINE)
"""Werewolf's analysis (entry point ``societas.analysis``: ``werewolf``)."""

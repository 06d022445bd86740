"""Opinion metrics for ``opinion_model``, ``opinion_dynamics`` and ``debate`` runs.

The first half holds pure functions of opinion vectors (unit-tested on hand-made inputs):

* bias B = mean, diversity D = standard deviation (``ddof`` stated; Chuang et al. use 1),
* `clusters` (groups separated by gaps wider than ``gap``), `bimodality` (Sarle's coefficient,
  above 5/9 suggests two modes), `polarization` (mean of the upper half minus the lower half),
* `delta_sd` (DEBATE's convergence: SD at the end minus SD at the start),
* `time_to_consensus` (first step from which the spread stays within a tolerance),
* `shifts` (AgentSociety's shares of agents more polarized, moderated or flipped around the
  scale's midpoint),
* `assortativity` (Pearson correlation of opinions across the ends of the graph's edges).

The second half reads run logs with polars: `observations` (every recorded opinion), `states`
(each agent's latest opinion at every recorded step), `by_step`, `edges` (the graph after its
logged changes), `group_convergence` (debate ΔSD per group) and the headline `summary`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from societas.analysis._registry import ScenarioAnalysis
from societas.analysis._scalars import number
from societas.analysis.load import fields

OPINION_KINDS = ("surveyed", "reported", "rated")


# -- metrics of opinion vectors --------------------------------------------------------------------
def bias(x: np.ndarray) -> float:
    """B = mean opinion."""
    return float(np.mean(x))


def diversity(x: np.ndarray, ddof: int = 0) -> float:
    """D = standard deviation of opinions (population SD with ``ddof=0``, sample SD with 1)."""
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=ddof)) if len(x) > ddof else float("nan")


def spread(x: np.ndarray) -> float:
    """Largest minus smallest opinion."""
    return float(np.ptp(x)) if len(x) else 0.0


def clusters(x: np.ndarray, gap: float, min_share: float = 0.0) -> int:
    """Opinion clusters: runs of sorted opinions whose neighbours differ by at most `gap`.

    Clusters holding less than `min_share` of the agents are not counted (``0.01`` ignores
    stray agents, as in "peaks holding more than 1% of agents").
    """
    values = np.sort(np.asarray(x, dtype=float))
    if not len(values):
        return 0
    breaks = np.flatnonzero(np.diff(values) > gap)
    sizes = np.diff(np.concatenate(([0], breaks + 1, [len(values)])))
    return int(np.sum(sizes >= min_share * len(values)))


def bimodality(x: np.ndarray) -> float:
    """Sarle's bimodality coefficient (g² + 1) / (k + 3(n − 1)² / ((n − 2)(n − 3))).

    g and k are the bias-corrected sample skewness and excess kurtosis. 5/9 is the value of a
    uniform distribution; higher suggests two modes. NaN for fewer than 4 agents or no variance.
    """
    values = np.asarray(x, dtype=float)
    n = len(values)
    if n < 4:
        return float("nan")
    centred = values - values.mean()
    m2 = np.mean(centred**2)
    if m2 == 0:
        return float("nan")
    g1 = np.mean(centred**3) / m2**1.5
    g2 = np.mean(centred**4) / m2**2 - 3.0
    skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    return float((skew**2 + 1) / (kurt + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def polarization(x: np.ndarray) -> float:
    """Mean of the upper half of opinions minus the mean of the lower half (middle one left out)."""
    values = np.sort(np.asarray(x, dtype=float))
    half = len(values) // 2
    if half == 0:
        return 0.0
    return float(values[-half:].mean() - values[:half].mean())


def delta_sd(first: np.ndarray, last: np.ndarray, ddof: int = 0) -> float:
    """ΔSD = SD(last) − SD(first): negative when opinions converge (DEBATE)."""
    return diversity(last, ddof) - diversity(first, ddof)


def time_to_consensus(steps: np.ndarray, spreads: np.ndarray, tolerance: float = 1e-6
                      ) -> int | None:
    """The first step from which the spread stays within `tolerance`; None if it never does."""
    order = np.argsort(steps, kind="stable")
    steps, spreads = np.asarray(steps)[order], np.asarray(spreads, dtype=float)[order]
    outside = np.flatnonzero(spreads > tolerance)
    if not len(outside):
        return int(steps[0]) if len(steps) else None
    if outside[-1] == len(steps) - 1:
        return None
    return int(steps[outside[-1] + 1])


def shifts(initial: np.ndarray, final: np.ndarray, midpoint: float) -> dict[str, float]:
    """Shares of agents that flipped, became more polarized, moderated, or did not move.

    Around `midpoint` (5 on AgentSociety's 0–10 scale): *flipped* ended strictly on the other
    side; otherwise *polarized* ended further from the midpoint (also leaving it), *moderated*
    closer (also reaching it), *unchanged* at the same distance. The four shares sum to 1.
    """
    a0 = np.asarray(initial, dtype=float) - midpoint
    a1 = np.asarray(final, dtype=float) - midpoint
    if not len(a0):
        return {"flipped": 0.0, "polarized": 0.0, "moderated": 0.0, "unchanged": 0.0}
    flipped = np.sign(a0) * np.sign(a1) < 0
    further = ~flipped & (np.abs(a1) > np.abs(a0))
    closer = ~flipped & (np.abs(a1) < np.abs(a0))
    same = ~flipped & ~further & ~closer
    return {"flipped": float(flipped.mean()), "polarized": float(further.mean()),
            "moderated": float(closer.mean()), "unchanged": float(same.mean())}


def assortativity(source_opinions: np.ndarray, target_opinions: np.ndarray,
                  directed: bool = False) -> float:
    """Pearson correlation of opinions at the two ends of each edge (Newman's r for values).

    An undirected edge counts in both orientations. NaN when either end has no variance.
    """
    u = np.asarray(source_opinions, dtype=float)
    v = np.asarray(target_opinions, dtype=float)
    if not directed:
        u, v = np.concatenate((u, v)), np.concatenate((v, u))
    if len(u) < 2 or np.std(u) == 0 or np.std(v) == 0:
        return float("nan")
    return float(np.corrcoef(u, v)[0, 1])


# -- reading logs ----------------------------------------------------------------------------------
def observations(events: pl.LazyFrame) -> pl.LazyFrame:
    """Every recorded opinion: run_id, sim, seq, step, kind, actor, opinion."""
    rows = events.filter(pl.col("kind").is_in(OPINION_KINDS))
    rows = fields(rows, opinion=pl.Float64, rating=pl.Float64)
    return rows.select("run_id", "sim", "seq", "step", "kind", "actor",
                       pl.coalesce("opinion", "rating").alias("opinion"))


def states(events: pl.LazyFrame) -> pl.DataFrame:
    """Each agent's latest opinion at every step where some opinion was recorded.

    Agents keep their last opinion until they report again (a dyad changes one listener), so
    every recorded step gets the whole population. Columns: run_id, sim, step, actor, opinion.
    """
    obs = (observations(events).sort("run_id", "sim", "seq")
           .group_by("run_id", "sim", "step", "actor", maintain_order=True)
           .agg(pl.col("opinion").last()).collect())
    keys = ["run_id", "sim"]
    grid = (obs.select(*keys, "step").unique()
            .join(obs.select(*keys, "actor").unique(), on=keys).sort("step"))
    # Both sides are sorted by step; polars cannot verify that within `by` groups.
    panel = grid.join_asof(obs.sort("step"), on="step", by=[*keys, "actor"],
                           strategy="backward", check_sortedness=False)
    return panel.drop_nulls("opinion").sort(*keys, "step", "actor")


def by_step(events: pl.LazyFrame, *, ddof: int = 0, gap: float = 0.1,
            min_share: float = 0.0) -> pl.DataFrame:
    """Per run, simulation and recorded step: agents, bias, diversity, spread, clusters, BC."""
    rows = []
    for (run_id, sim, step), part in states(events).group_by(
            "run_id", "sim", "step", maintain_order=True):
        x = part["opinion"].to_numpy()
        rows.append({"run_id": run_id, "sim": sim, "step": step, "agents": len(x),
                     "bias": bias(x), "diversity": diversity(x, ddof), "spread": spread(x),
                     "clusters": clusters(x, gap, min_share), "bimodality": bimodality(x),
                     "polarization": polarization(x)})
    return pl.DataFrame(rows).sort("run_id", "sim", "step") if rows else pl.DataFrame()


def edges(events: pl.LazyFrame) -> pl.DataFrame:
    """The graph's edges after every logged change: run_id, sim, source, target."""
    directed = (fields(events.filter(pl.col("kind") == "network_built"), directed=pl.Boolean)
                .select("run_id", "sim", "directed"))
    changes = (events.filter(pl.col("kind").is_in(["linked", "unlinked"]))
               .join(directed, on=["run_id", "sim"], how="left")
               .with_columns(
                   pl.when(pl.col("directed").fill_null(False)).then(pl.col("actor"))
                   .otherwise(pl.min_horizontal("actor", "target")).alias("source"),
                   pl.when(pl.col("directed").fill_null(False)).then(pl.col("target"))
                   .otherwise(pl.max_horizontal("actor", "target")).alias("target_")))
    last = (changes.sort("run_id", "sim", "seq")
            .group_by("run_id", "sim", "source", "target_", maintain_order=True)
            .agg(pl.col("kind").last()))
    return (last.filter(pl.col("kind") == "linked")
            .select("run_id", "sim", "source", pl.col("target_").alias("target"))
            .sort("run_id", "sim", "source", "target").collect())


def final_assortativity(events: pl.LazyFrame) -> pl.DataFrame:
    """Opinion assortativity over the final graph, per run and simulation."""
    panel = states(events)
    last = panel.filter(pl.col("step") == pl.col("step").max().over("run_id", "sim"))
    graph = edges(events)
    directed = (fields(events.filter(pl.col("kind") == "network_built"), directed=pl.Boolean)
                .select("run_id", "sim", "directed").collect())
    opinions = last.select("run_id", "sim", "actor", "opinion")
    ends = (graph.join(opinions.rename({"actor": "source", "opinion": "u"}),
                       on=["run_id", "sim", "source"])
            .join(opinions.rename({"actor": "target", "opinion": "v"}),
                  on=["run_id", "sim", "target"]))
    rows = []
    for (run_id, sim), part in ends.group_by("run_id", "sim", maintain_order=True):
        flag = directed.filter((pl.col("run_id") == run_id) & (pl.col("sim") == sim))["directed"]
        r = assortativity(part["u"].to_numpy(), part["v"].to_numpy(),
                          directed=bool(flag[0]) if len(flag) else False)
        rows.append({"run_id": run_id, "sim": sim, "assortativity": r})
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def group_convergence(events: pl.LazyFrame, ddof: int = 0) -> pl.DataFrame:
    """Debate ΔSD per group: private ratings (round 0 → last) and public post stances.

    Columns: run_id, sim, group, sd_private_initial, sd_private_final, delta_sd_private,
    sd_public_first, sd_public_last, delta_sd_public.
    """
    rated = fields(events.filter(pl.col("kind") == "rated"), group=pl.Int64, round=pl.Int64,
                   rating=pl.Float64).collect()
    tweeted = fields(events.filter(pl.col("kind") == "tweeted"), group=pl.Int64,
                     round=pl.Int64, stance=pl.Float64).collect()
    rows = []
    for (run_id, sim, group), part in rated.group_by("run_id", "sim", "group",
                                                     maintain_order=True):
        first, last = part["round"].min(), part["round"].max()
        private0 = part.filter(pl.col("round") == first)["rating"].to_numpy()
        private1 = part.filter(pl.col("round") == last)["rating"].to_numpy()
        public = tweeted.filter((pl.col("run_id") == run_id) & (pl.col("sim") == sim)
                                & (pl.col("group") == group))
        row = {"run_id": run_id, "sim": sim, "group": group,
               "sd_private_initial": diversity(private0, ddof),
               "sd_private_final": diversity(private1, ddof),
               "delta_sd_private": delta_sd(private0, private1, ddof)}
        if public.height:
            p0 = public.filter(pl.col("round") == public["round"].min())["stance"].to_numpy()
            p1 = public.filter(pl.col("round") == public["round"].max())["stance"].to_numpy()
            row |= {"sd_public_first": diversity(p0, ddof), "sd_public_last": diversity(p1, ddof),
                    "delta_sd_public": delta_sd(p0, p1, ddof)}
        rows.append(row)
    return pl.DataFrame(rows).sort("run_id", "sim", "group") if rows else pl.DataFrame()


def summary(events: pl.LazyFrame, *, gap: float = 0.1, tolerance: float = 1e-6
            ) -> dict[str, Any]:
    """Headline figures, averaged over simulations: bias, diversity, ΔSD, clusters, shifts."""
    panel = states(events)
    if not panel.height:
        return {}
    keys = ["run_id", "sim"]
    midpoints = (fields(events.filter(pl.col("kind") == "outcome"), midpoint=pl.Float64)
                 .select(*keys, "midpoint").collect())
    per_sim = []
    for (run_id, sim), part in panel.group_by(*keys, maintain_order=True):
        steps = part["step"].unique().sort()
        x0 = part.filter(pl.col("step") == steps[0]).sort("actor")
        x1 = part.filter(pl.col("step") == steps[-1]).sort("actor")
        mid = midpoints.filter((pl.col("run_id") == run_id) & (pl.col("sim") == sim))["midpoint"]
        midpoint = float(mid[0]) if len(mid) and mid[0] is not None else (
            number(x0["opinion"].min()) + number(x0["opinion"].max())) / 2
        spreads = part.group_by("step").agg((pl.col("opinion").max() - pl.col("opinion").min())
                                            .alias("spread")).sort("step")
        both = x0.join(x1, on="actor", suffix="_final")
        a, b = x1["opinion"].to_numpy(), both["opinion"].to_numpy()
        per_sim.append({
            "initial bias": bias(x0["opinion"].to_numpy()),
            "final bias": bias(a),
            "initial diversity (ddof 0)": diversity(x0["opinion"].to_numpy()),
            "final diversity (ddof 0)": diversity(a),
            "final diversity (ddof 1)": diversity(a, 1),
            "ΔSD first→last": delta_sd(x0["opinion"].to_numpy(), a),
            "final clusters": clusters(a, gap),
            "final bimodality": bimodality(a),
            "final polarization": polarization(a),
            "time to consensus": time_to_consensus(spreads["step"].to_numpy(),
                                                   spreads["spread"].to_numpy(), tolerance),
            **{f"share {k}": v for k, v in
               shifts(b, both["opinion_final"].to_numpy(), midpoint).items()},
        })
    out: dict[str, Any] = {"simulations": len(per_sim), "agents": panel["actor"].n_unique()}
    for key in per_sim[0]:
        values = [row[key] for row in per_sim if row[key] is not None]
        if key == "time to consensus":
            out["consensus reached (share of simulations)"] = len(values) / len(per_sim)
            out[key] = float(np.mean(values)) if values else None
        else:
            out[key] = _nanmean(values)
    assort = final_assortativity(events)
    if assort.height:
        out["final assortativity"] = _nanmean(assort["assortativity"].to_list())
    return out


def _nanmean(values: list[Any]) -> float | None:
    """Mean of the values that are numbers (NaN when none is)."""
    finite = [float(v) for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def debate_summary(events: pl.LazyFrame) -> dict[str, Any]:
    """Opinion summary plus the debate's mean private and public ΔSD over groups."""
    out = summary(events)
    groups = group_convergence(events)
    if groups.height:
        out["groups"] = groups.height
        out["mean ΔSD private"] = float(number(groups["delta_sd_private"].mean()))
        if "delta_sd_public" in groups.columns:
            out["mean ΔSD public"] = float(number(groups["delta_sd_public"].mean()))
    return out


ANALYSIS = ScenarioAnalysis(summary=summary)
"""The analysis of ``opinion_model`` and ``opinion_dynamics`` runs (generic timeline)."""
DEBATE_ANALYSIS = ScenarioAnalysis(summary=debate_summary)
"""The analysis of ``debate`` runs (generic timeline)."""

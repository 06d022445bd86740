"""Pure kernels of the classical opinion models (§8.2 of the scenario notes). No `sim`, no model.

Network-wide updates take a sparse influence matrix ``A`` (``A[i, j]`` > 0 when i hears j) and
an opinion vector, and cost O(edges) per step: DeGroot, Friedkin–Johnsen and Hegselmann–Krause
have no Python loop over agents. Deffuant and the voter model are pairwise and sequential by
nature; here one step applies a random batch of *disjoint* pairs at once, which is exactly the
sequential process restricted to those pairs (disjoint updates commute).

The scalar helpers at the end (`degroot_value` …) apply the same rules to one agent and the
opinions it has heard; the scripted strategies use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse

Rounding = Literal["stochastic", "nearest"]


# -- influence matrices ---------------------------------------------------------------------------
def influence_weights(adjacency: scipy.sparse.csr_array, self_weight: float = 1.0
                      ) -> scipy.sparse.csr_array:
    """Row-stochastic W = D⁻¹(A + s·I); an agent that hears nobody keeps its opinion (W_ii = 1)."""
    import scipy.sparse as sp

    n = adjacency.shape[0]  # pyright: ignore[reportOptionalSubscript]  # scipy: untyped
    with_self = (adjacency + self_weight * sp.eye_array(n, format="csr")).tocsr()
    totals = np.asarray(with_self.sum(axis=1)).ravel()
    lonely = totals <= 0
    if lonely.any():
        with_self = (with_self + sp.diags_array(lonely.astype(float), format="csr")).tocsr()
        totals = np.where(lonely, 1.0, totals)
    weights = sp.diags_array(1.0 / totals) @ with_self
    return weights.tocsr()  # pyright: ignore[reportAttributeAccessIssue]  # scipy: untyped


def degroot_step(weights: scipy.sparse.csr_array, x: np.ndarray) -> np.ndarray:
    """x(t+1) = W x(t)."""
    return weights @ x


def friedkin_johnsen_step(weights: scipy.sparse.csr_array, x: np.ndarray, anchors: np.ndarray,
                          susceptibility: np.ndarray | float) -> np.ndarray:
    """x(t+1) = Λ W x(t) + (I − Λ) u, with Λ = diag(susceptibility)."""
    return susceptibility * (weights @ x) + (1.0 - susceptibility) * anchors


def friedkin_johnsen_equilibrium(weights: scipy.sparse.csr_array, anchors: np.ndarray,
                                 susceptibility: np.ndarray | float) -> np.ndarray:
    """The steady state x* = (I − ΛW)⁻¹ (I − Λ) u (a sparse solve)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    n = weights.shape[0]  # pyright: ignore[reportOptionalSubscript]  # scipy: untyped
    lam = np.broadcast_to(np.asarray(susceptibility, dtype=float), (n,))
    system = (sp.eye_array(n, format="csc") - sp.diags_array(lam) @ weights).tocsc()
    return np.asarray(spla.spsolve(system, (1.0 - lam) * anchors))


def hegselmann_krause_step(adjacency: scipy.sparse.csr_array, x: np.ndarray,
                           epsilon: float) -> np.ndarray:
    """Synchronous HK over graph neighbours: the mean of own and heard opinions within ε."""
    n = adjacency.shape[0]  # pyright: ignore[reportOptionalSubscript]  # scipy: untyped
    rows = np.repeat(np.arange(n), np.diff(adjacency.indptr))
    cols = adjacency.indices
    close = np.abs(x[rows] - x[cols]) <= epsilon
    total = x + np.bincount(rows[close], weights=x[cols[close]], minlength=len(x))
    count = 1.0 + np.bincount(rows[close], minlength=len(x))
    return total / count


def hegselmann_krause_everyone(x: np.ndarray, epsilon: float) -> np.ndarray:
    """Synchronous HK where everyone hears everyone, in O(N log N) (sorted prefix sums)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    prefix = np.concatenate(([0.0], np.cumsum(xs)))
    lo = np.searchsorted(xs, xs - epsilon, side="left")
    hi = np.searchsorted(xs, xs + epsilon, side="right")
    out = np.empty_like(x, dtype=float)
    out[order] = (prefix[hi] - prefix[lo]) / (hi - lo)
    return out


# -- pairwise models ------------------------------------------------------------------------------
def random_sources(adjacency: scipy.sparse.csr_array, agents: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each agent that hears somebody, one uniformly chosen source: (agents, sources)."""
    degree = np.diff(adjacency.indptr)[agents]
    hearing = agents[degree > 0]
    degree = degree[degree > 0]
    pick = (rng.random(len(hearing)) * degree).astype(np.int64)
    return hearing, adjacency.indices[adjacency.indptr[hearing] + pick]


def disjoint_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Mask of pairs, in order, whose agents appear in no earlier pair (kept or not)."""
    nodes = np.column_stack((first, second)).ravel()
    _, first_seen = np.unique(nodes, return_index=True)
    owner = np.full(nodes.max() + 1 if len(nodes) else 0, -1, dtype=np.int64)
    owner[nodes[first_seen]] = first_seen // 2
    pair = np.arange(len(first))
    return (owner[first] == pair) & (owner[second] == pair) & (first != second)


def deffuant_step(x: np.ndarray, first: np.ndarray, second: np.ndarray, epsilon: float,
                  mu: float) -> np.ndarray:
    """Deffuant–Weisbuch on disjoint pairs: close pairs (|Δ| < ε) move μ towards each other."""
    out = x.copy()
    gap = x[second] - x[first]
    close = np.abs(gap) < epsilon
    out[first[close]] += mu * gap[close]
    out[second[close]] -= mu * gap[close]
    return out


def voter_step(x: np.ndarray, copiers: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Voter model on disjoint pairs: each copier takes its source's opinion."""
    out = x.copy()
    out[copiers] = x[sources]
    return out


# -- one agent: the rules as scripted strategies use them -----------------------------------------
def degroot_value(own: float, heard: Sequence[float], self_weight: float = 1.0) -> float:
    """Weighted mean of own opinion (weight `self_weight`) and each heard opinion (weight 1)."""
    if not heard:
        return own
    return (self_weight * own + float(np.sum(heard))) / (self_weight + len(heard))


def friedkin_johnsen_value(own: float, anchor: float, heard: Sequence[float],
                           susceptibility: float, self_weight: float = 1.0) -> float:
    """λ · (DeGroot mean) + (1 − λ) · anchor."""
    return (susceptibility * degroot_value(own, heard, self_weight)
            + (1.0 - susceptibility) * anchor)


def hegselmann_krause_value(own: float, heard: Sequence[float], epsilon: float) -> float:
    """Mean of own opinion and the heard opinions within ε of it."""
    close = [h for h in heard if abs(h - own) <= epsilon]
    return (own + sum(close)) / (1 + len(close))


def deffuant_value(own: float, heard: Sequence[float], epsilon: float, mu: float) -> float:
    """Move μ towards each heard opinion closer than ε, in the order heard."""
    for h in heard:
        if abs(h - own) < epsilon:
            own += mu * (h - own)
    return own


def to_scale(value: float, low: int, high: int, rounding: Rounding,
             rng: np.random.Generator) -> int:
    """An integer opinion on [low, high]: stochastic rounding keeps the expected value."""
    value = min(max(value, low), high)
    if rounding == "nearest":
        return int(np.floor(value + 0.5))
    base = int(np.floor(value))
    return base + int(rng.random() < value - base)

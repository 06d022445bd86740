"""The classical models over a whole network, one vectorised `step` each (kernels underneath).

Each model is built once from the sparse influence matrix (``A[i, j]`` > 0 when i hears j) and
its parameters, then `step(x, rng)` returns the next opinion vector. `deterministic` says whether
a step can draw random numbers (convergence is judged differently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

import societas.scenarios.opinion.kernels as kernels

if TYPE_CHECKING:
    import scipy.sparse

ModelName = Literal["degroot", "friedkin_johnsen", "hegselmann_krause", "deffuant", "voter"]


@dataclass
class DeGroot:
    """x(t+1) = W x(t), W = D⁻¹(A + s·I)."""

    weights: scipy.sparse.csr_array
    deterministic: bool = True

    def step(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One synchronous update."""
        return kernels.degroot_step(self.weights, x)


@dataclass
class FriedkinJohnsen:
    """x(t+1) = Λ W x(t) + (I − Λ) u: susceptibility λ, anchors u = x(0)."""

    weights: scipy.sparse.csr_array
    anchors: np.ndarray
    susceptibility: float
    deterministic: bool = True

    def step(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One synchronous update."""
        return kernels.friedkin_johnsen_step(self.weights, x, self.anchors, self.susceptibility)

    def equilibrium(self) -> np.ndarray:
        """The analytic steady state (I − ΛW)⁻¹(I − Λ)u."""
        return kernels.friedkin_johnsen_equilibrium(self.weights, self.anchors,
                                                    self.susceptibility)


@dataclass
class HegselmannKrause:
    """Synchronous bounded confidence: mean of opinions within ε (graph neighbours or everyone)."""

    adjacency: scipy.sparse.csr_array | None
    epsilon: float
    deterministic: bool = True

    def step(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One synchronous update."""
        if self.adjacency is None:
            return kernels.hegselmann_krause_everyone(x, self.epsilon)
        return kernels.hegselmann_krause_step(self.adjacency, x, self.epsilon)


@dataclass
class _Pairwise:
    adjacency: scipy.sparse.csr_array
    sample: float

    def pairs(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Disjoint (initiator, source) pairs: `sample` of the agents each pick one source."""
        n = self.adjacency.shape[0]  # pyright: ignore[reportOptionalSubscript]  # scipy: untyped
        count = max(1, int(round(self.sample * n)))
        initiators = rng.choice(n, size=min(count, n), replace=False)
        first, second = kernels.random_sources(self.adjacency, initiators, rng)
        keep = kernels.disjoint_pairs(first, second)
        return first[keep], second[keep]


@dataclass
class Deffuant(_Pairwise):
    """Pairwise bounded confidence along edges: |Δ| < ε → both move μ·Δ closer."""

    epsilon: float = 0.2
    mu: float = 0.5
    deterministic: bool = False

    def step(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One batch of disjoint encounters."""
        first, second = self.pairs(rng)
        return kernels.deffuant_step(x, first, second, self.epsilon, self.mu)


@dataclass
class Voter(_Pairwise):
    """Each drawn agent copies a random source's opinion."""

    deterministic: bool = False

    def step(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One batch of disjoint copies."""
        copiers, sources = self.pairs(rng)
        return kernels.voter_step(x, copiers, sources)

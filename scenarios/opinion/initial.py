"""Initial opinion distributions, chosen in the config by ``kind`` and drawn from ``sim.rng``."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Initial(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Uniform(_Initial):
    """Independent uniform draws on [low, high] (Deffuant's U[0, 1] by default)."""

    kind: Literal["uniform"] = "uniform"
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low must be <= high, got [{self.low}, {self.high}]")
        return self

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` opinions."""
        return rng.uniform(self.low, self.high, size=n)

    def midpoint(self) -> float:
        """The centre of the range opinions start in."""
        return (self.low + self.high) / 2


class Levels(_Initial):
    """The `values` spread evenly over the agents, then shuffled.

    Chuang et al. start 10 agents two per level of −2..2 (``values: [-2, -1, 0, 1, 2]``).
    """

    kind: Literal["levels"] = "levels"
    values: list[float] = Field(min_length=1)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` opinions."""
        spread = np.resize(np.asarray(self.values, dtype=float), n)
        return spread[rng.permutation(n)]

    def midpoint(self) -> float:
        """The centre of the range opinions start in."""
        return (min(self.values) + max(self.values)) / 2


class Categorical(_Initial):
    """Independent draws from `values` with probabilities `p` (equal when unset).

    AgentSociety's polarization set-up is ``values: [3, 7]`` on a 0–10 scale.
    """

    kind: Literal["categorical"] = "categorical"
    values: list[float] = Field(min_length=1)
    p: list[float] | None = None

    @model_validator(mode="after")
    def _probabilities(self) -> Categorical:
        if self.p is not None:
            if len(self.p) != len(self.values):
                raise ValueError(f"p has {len(self.p)} entries for {len(self.values)} values")
            if any(v < 0 for v in self.p) or abs(sum(self.p) - 1.0) > 1e-9:
                raise ValueError(f"p must be non-negative and sum to 1, got {self.p}")
        return self

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` opinions."""
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self.p)

    def midpoint(self) -> float:
        """The centre of the range opinions start in."""
        return (min(self.values) + max(self.values)) / 2


class Normal(_Initial):
    """Normal draws clipped to [low, high]."""

    kind: Literal["normal"] = "normal"
    mean: float = 0.0
    sd: float = Field(default=1.0, ge=0.0)
    low: float = -np.inf
    high: float = np.inf

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` opinions."""
        return np.clip(rng.normal(self.mean, self.sd, size=n), self.low, self.high)

    def midpoint(self) -> float:
        """The centre of the range opinions start in."""
        return self.mean


class Given(_Initial):
    """Exactly these opinions, in agent order (cycled when shorter than the population)."""

    kind: Literal["given"] = "given"
    values: list[float] = Field(min_length=1)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` opinions."""
        return np.resize(np.asarray(self.values, dtype=float), n)

    def midpoint(self) -> float:
        """The centre of the range opinions start in."""
        return (min(self.values) + max(self.values)) / 2


Initial = Annotated[Uniform | Levels | Categorical | Normal | Given, Field(discriminator="kind")]
"""An initial distribution: ``{kind: uniform | levels | categorical | normal | given, ...}``."""


def check_scale(initial: BaseModel, low: float, high: float, integer: bool) -> None:
    """Raise ValueError when an initial distribution can put opinions off a report scale."""
    values = getattr(initial, "values", None)
    if values is not None:
        bad = [v for v in values if not low <= v <= high or (integer and v != int(v))]
        if bad:
            kind = "integers " if integer else ""
            raise ValueError(f"initial values {bad} are not {kind}on the scale "
                             f"[{low:g}, {high:g}]")
    elif getattr(initial, "kind", None) in ("uniform", "normal") and integer:
        raise ValueError("an integer scale needs initial kind levels, categorical or given")

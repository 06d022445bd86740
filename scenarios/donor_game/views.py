"""What a donor-game agent knows when asked: typed views read by prompts and strategies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from societas.scenarios.donor_game.kernels import TraceEntry


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class Advice(_View):
    """A survivor's strategy and final score, passed to the next generation."""

    name: str
    strategy: str
    score: float


class StrategyView(_View):
    """Asked once, when an agent is created."""

    name: str
    generation: int
    advice: tuple[Advice, ...] = ()


class DonationView(_View):
    """Asked of the donor each round."""

    name: str
    strategy: str
    generation: int
    round: int
    recipient: str
    recipient_resources: float
    own_resources: float
    trace: tuple[TraceEntry, ...]
    punishment: bool


class Move(BaseModel):
    """A donor's move in the costly-punishment variant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["donate", "punish"]
    amount: float = Field(ge=0.0)

"""Config blocks shared by social-deduction games: how ballots are decided, what is remembered."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from societas.scenarios.social_deduction.kernels import Majority, TieBreak


class BallotRules(BaseModel):
    """How a ballot is decided (see `kernels.decide`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    majority: Majority = Field(description="plurality | strict (more than half of the voters)")
    tie_break: TieBreak = Field(description="first_voted | random | no_elimination")


class VotingRules(BallotRules):
    """How a public vote is decided, and whether a voter may name itself."""

    self_vote: bool = Field(description="whether a voter may vote for itself")


class MemoryLimits(BaseModel):
    """How many entries of each kind a player's memory keeps (the most recent; 0 keeps none).

    Announcements are public moderator lines, observations are private facts (a seer's finding,
    a traitor meeting), summaries are the player's own notes written at the end of a phase.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    announcements: int = Field(30, ge=0)
    observations: int = Field(30, ge=0)
    summaries: int = Field(3, ge=0)

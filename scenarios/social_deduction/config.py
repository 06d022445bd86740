"""Config blocks shared by social-deduction games: how ballots are decided, what is remembered."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

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


ANNOUNCEMENTS = "announcements"
OBSERVATIONS = "observations"
SUMMARIES = "summaries"
MEMORY_CHANNELS: Mapping[str, int] = MappingProxyType(
    {ANNOUNCEMENTS: 30, OBSERVATIONS: 30, SUMMARIES: 3})
"""A player's memory channels and how many entries each keeps by default (the most recent; 0
keeps none); ``population.memory`` overrides them (an int for all, or ``{channel: k}``).

Announcements are public moderator lines, observations are private facts (a seer's finding,
a traitor meeting), summaries are the player's own notes written at the end of a phase.
"""

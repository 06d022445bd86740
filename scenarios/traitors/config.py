"""Parameters of The Traitors; the defaults are those of Curvo's released code."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from societas.scenarios.social_deduction import BallotRules, VotingRules
from societas.scenarios.social_deduction.answers import SPEECH_MAX_CHARS
from societas.scenarios.traitors.roles import FAITHFUL, TRAITOR

REFERENCE_BANISHMENT = VotingRules(majority="plurality", tie_break="first_voted", self_vote=True)
REFERENCE_MURDER = BallotRules(majority="plurality", tie_break="first_voted")


class TraitorsConfig(BaseModel):
    """The Traitors (Curvo 2025 rules by default; see the rules docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    traitors: int = Field(3, ge=1, description="traitors among population.size players")
    fixed_roles: dict[str, str] = Field(default_factory=dict,
                                        description="agent id → traitor | faithful")
    discussion_passes: int = Field(2, ge=0, le=2,
                                   description="1: everyone speaks on a topic; 2: then reacts")
    post_banishment_discussion: bool = Field(True, description="react to the revealed role")
    summaries: bool = Field(True, description="players summarize discussions into memory")
    introductions: bool = Field(True, description="persona introductions, when personas exist")
    banishment: VotingRules = REFERENCE_BANISHMENT
    murder: BallotRules = REFERENCE_MURDER
    reasoning: bool = Field(False, description="models write reasoning before each answer")
    speech_chars: int = Field(SPEECH_MAX_CHARS, ge=20, le=SPEECH_MAX_CHARS,
                              description="longest speech or summary, in characters")
    max_rounds: int = Field(20, ge=1, description="rounds before the game ends in a draw")

    @model_validator(mode="after")
    def _fixed_roles_fit(self) -> TraitorsConfig:
        for player, role in self.fixed_roles.items():
            if role not in (TRAITOR, FAITHFUL):
                raise ValueError(f"fixed_roles.{player}: {role!r} is not a role; use "
                                 f"{TRAITOR!r} or {FAITHFUL!r}")
        pinned = sum(1 for r in self.fixed_roles.values() if r == TRAITOR)
        if pinned > self.traitors:
            raise ValueError(f"fixed_roles names {pinned} traitors but traitors={self.traitors}")
        return self

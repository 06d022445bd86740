"""Parameters of Werewolf; the defaults are Werewolf Arena's."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from societas.scenarios.social_deduction import VotingRules
from societas.scenarios.social_deduction.answers import SPEECH_MAX_CHARS
from societas.scenarios.werewolf.roles import CATALOGUE, WEREWOLVES

ARENA_ROLES = {"werewolf": 2, "seer": 1, "doctor": 1, "villager": 4}
ARENA_VOTE = VotingRules(majority="strict", tie_break="no_elimination", self_vote=False)


class WerewolfConfig(BaseModel):
    """Werewolf (Werewolf Arena rules by default; see the rules docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[str, int] = Field(default_factory=lambda: dict(ARENA_ROLES),
                                  description="role → how many; must add up to population.size")
    fixed_roles: dict[str, str] = Field(default_factory=dict,
                                        description="agent id → role, dealt before the rest")
    debate_turns: int = Field(8, ge=0, description="speaking turns per day, allocated by bids")
    synthetic_votes: bool = Field(False, description="a straw poll after every debate turn")
    vote: VotingRules = ARENA_VOTE
    summaries: bool = Field(True, description="players summarize each day into memory")
    shuffle_options: bool = Field(True, description="shuffle player options in each question")
    reasoning: bool = Field(True, description="models write reasoning before each answer")
    speech_chars: int = Field(SPEECH_MAX_CHARS, ge=20, le=SPEECH_MAX_CHARS,
                              description="longest speech or summary, in characters")
    max_rounds: int = Field(20, ge=1, description="rounds before the game ends in a draw")

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(roles) - set(CATALOGUE))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known roles: {sorted(CATALOGUE)}")
        if any(count < 0 for count in roles.values()):
            raise ValueError(f"role counts must be >= 0, got {roles}")
        wolves = sum(n for r, n in roles.items() if CATALOGUE[r].side == WEREWOLVES)
        others = sum(roles.values()) - wolves
        if wolves < 1 or others <= wolves:
            raise ValueError(f"need at least one werewolf and more villager-side players than "
                             f"werewolves, got {roles}")
        return roles

    @model_validator(mode="after")
    def _fixed_roles_fit(self) -> WerewolfConfig:
        for player, role in self.fixed_roles.items():
            if role not in self.roles:
                raise ValueError(f"fixed_roles.{player}: role {role!r} is not dealt in this "
                                 f"game; roles: {sorted(self.roles)}")
        for role in set(self.fixed_roles.values()):
            fixed = sum(1 for r in self.fixed_roles.values() if r == role)
            if fixed > self.roles[role]:
                raise ValueError(f"fixed_roles gives {fixed} players the role {role!r} but "
                                 f"roles deals only {self.roles[role]}")
        return self

    @property
    def players(self) -> int:
        """How many players the role set needs."""
        return sum(self.roles.values())

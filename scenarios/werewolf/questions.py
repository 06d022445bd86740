"""Werewolf questions: each rulebook verb as a typed question with its view and lazy prompt.

Prompts are functions: they render ``prompts/<verb>.j2`` only when a model is asked, so scripted
games never render a template. The briefing (rules and role) is rendered once per role and team
and cached, because every game of a run shares it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from societas.scenarios._templates import Prompts
from societas.scenarios.social_deduction import (
    Speech,
    Summary,
    Table,
    render_memory,
    render_transcript,
)
from societas.scenarios.werewolf.config import WerewolfConfig
from societas.scenarios.werewolf.roles import CATALOGUE, TITLES
from societas.scenarios.werewolf.views import DebateView, Seat, SummaryView, TargetView
from societas.simulator.scenario import Choice, Form

PROMPTS = Prompts(__file__)
BIDS = (0, 1, 2, 3, 4)
NOBODY = "nobody"
SILENCE = Speech(say="I have nothing to add right now.")
NO_NOTES = Summary(summary="Nothing new to note.")


@lru_cache(maxsize=64)
def rules_text(roles: tuple[tuple[str, int], ...], debate_turns: int, majority: str,
               self_vote: bool) -> str:
    """The rules every player reads first (identical for all players of a config)."""
    present = {role for role, count in roles if count}
    return PROMPTS.render("rules", roles=roles, cards=CATALOGUE, present=present,
                          players=sum(n for _, n in roles), debate_turns=debate_turns,
                          majority=majority, self_vote=self_vote)


@lru_cache(maxsize=256)
def role_text(role: str, team: tuple[str, ...]) -> str:
    """A player's role, goal and teammates."""
    return PROMPTS.render("role", role=role, title=TITLES[role], team=team)


class Questions:
    """Builds every question of one game from its table.

    Args:
        config: the game's config.
        table: the game's table (read when a question is built).
        teams: werewolf → its fellow werewolves.
        inspected: seer → {player: role} found so far.
    """

    def __init__(self, config: WerewolfConfig, table: Table, teams: Mapping[str, list[str]],
                 inspected: Mapping[str, dict[str, str]]) -> None:
        self.config = config
        self.table = table
        self.teams = {p: tuple(t) for p, t in teams.items()}
        self.inspected = inspected
        self._rules = rules_text(tuple(config.roles.items()), config.debate_turns,
                                 config.vote.majority, config.vote.self_vote)

    def briefing(self, player: str) -> str:
        """Rules, then role: the standing instructions (shared prefix first)."""
        role = role_text(self.table.roles[player], self.teams.get(player, ()))
        return f"{self._rules}\n\n{role}"

    def seat(self, player: str) -> Seat:
        """What every question to `player` carries."""
        table, public = self.table, self.table.public()
        known = self.inspected.get(player)
        return Seat(me=player, role=table.roles[player], round=public.round, alive=public.alive,
                    team=self.teams.get(player, ()), known=tuple(known.items()) if known else (),
                    speeches=public.speeches, today=public.today, memory=table.memory(player))

    # -- questions -----------------------------------------------------------------------------
    def target(self, player: str, verb: str, options: Sequence[str],
               rng: np.random.Generator) -> Choice:
        """Choose one player: ``attack``, ``protect``, ``guard`` or ``inspect``."""
        view = TargetView(self.seat(player), self._order(options, rng))
        return Choice(name=verb, prompt=self._prompt(verb, view), view=view,
                      options=view.options, reasoning=self.config.reasoning)

    def heal(self, witch: str, victim: str) -> Choice:
        """Spend the healing potion on tonight's victim?"""
        view = TargetView(self.seat(witch), ("yes", "no"), victim=victim)
        return Choice(name="heal", prompt=self._prompt("heal", view), view=view,
                      options=view.options, reasoning=self.config.reasoning, fallback="no")

    def poison(self, witch: str, rng: np.random.Generator) -> Choice:
        """Spend the poison on someone, or on nobody."""
        others = [p for p in self.table.alive if p != witch]
        view = TargetView(self.seat(witch), (NOBODY, *self._order(others, rng)))
        return Choice(name="poison", prompt=self._prompt("poison", view), view=view,
                      options=view.options, reasoning=self.config.reasoning, fallback=NOBODY)

    def bid(self, player: str, turn: int, previous: str | None) -> Choice:
        """How urgently the player wants the floor (0–4)."""
        view = DebateView(self.seat(player), turn, self.config.debate_turns, previous)
        return Choice(name="bid", prompt=self._prompt("bid", view), view=view, options=BIDS,
                      reasoning=self.config.reasoning)

    def debate(self, player: str, turn: int, previous: str | None) -> Form:
        """The speaker's public statement."""
        view = DebateView(self.seat(player), turn, self.config.debate_turns, previous)
        return Form(name="debate", prompt=self._prompt("debate", view), view=view, model=Speech,
                    limits={"say": (1, self.config.speech_chars)},
                    reasoning=self.config.reasoning, fallback=SILENCE)

    def vote(self, player: str, turn: int, final: bool, rng: np.random.Generator) -> Choice:
        """Whom to exile (a straw poll when not `final`)."""
        alive = self.table.alive
        options = alive if self.config.vote.self_vote else [p for p in alive if p != player]
        view = TargetView(self.seat(player), self._order(options, rng), turn=turn, final=final)
        return Choice(name="vote", prompt=self._prompt("vote", view), view=view,
                      options=view.options, reasoning=self.config.reasoning)

    def summarize(self, player: str) -> Form:
        """The player's notes on the day."""
        view = SummaryView(self.seat(player))
        return Form(name="summarize", prompt=self._prompt("summarize", view), view=view,
                    model=Summary, limits={"summary": (1, self.config.speech_chars)},
                    reasoning=self.config.reasoning, fallback=NO_NOTES)

    # -- helpers -------------------------------------------------------------------------------
    def _order(self, options: Sequence[str], rng: np.random.Generator) -> tuple[str, ...]:
        if not self.config.shuffle_options or len(options) < 2:
            return tuple(options)
        return tuple(options[int(i)] for i in rng.permutation(len(options)))

    def _prompt(self, verb: str, view: Any) -> Callable[[], str]:
        seat: Seat = view.seat

        def render() -> str:
            debate = render_transcript(f"Round {seat.round} debate so far", seat.today,
                                       seat.me)
            return PROMPTS.render(verb, view=view, seat=seat, titles=TITLES,
                                  memory=render_memory(seat.memory), debate=debate,
                                  state=PROMPTS.render("state", seat=seat, titles=TITLES))

        return render

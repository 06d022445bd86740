"""Scripted Werewolf baselines: every decision answered from the typed view, without a model.

``random`` (generic) picks a uniformly random legal answer everywhere. ``heuristic`` plays each
role by a simple rule, and its players talk in one fixed sentence form so that other heuristic
players can act on what they hear:

- the seer inspects at random and, once it has found a werewolf still alive, bids to speak,
  claims its role and names the wolf (``"I am the Seer. I inspected a3: they are a Werewolf."``)
  and votes for it;
- villager-side players believe the first player who claimed the Seer and vote for the wolves
  that claimant named (``trust_claims``), otherwise vote at random; the doctor and guard protect
  that claimant, the witch poisons a named wolf;
- werewolves attack and vote the claimant, otherwise a random non-werewolf (never a packmate),
  and with probability ``fake_claim`` falsely claim the Seer and name a villager.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import Field

from societas.scenarios.social_deduction import Line, Speech, Summary
from societas.scenarios.werewolf.roles import TITLES
from societas.scenarios.werewolf.views import DebateView, Seat, TargetView
from societas.simulator.scenario import Question, Strategy, answers

CLAIM = re.compile(r"I am the Seer\. I inspected (?P<target>\S+): they are a (?P<title>\w+)\.")
NOBODY = "nobody"
WOLF = TITLES["werewolf"]


def claim(target: str, title: str) -> str:
    """The heuristic's sentence claiming the Seer's finding."""
    return f"I am the Seer. I inspected {target}: they are a {title}."


@lru_cache(maxsize=4096)
def _claimed(text: str) -> tuple[tuple[str, str], ...]:
    """(target, role title) of every Seer claim in one speech (speeches repeat: cached)."""
    if "I am the Seer" not in text:
        return ()
    return tuple((m["target"], m["title"]) for m in CLAIM.finditer(text))


def claims(speeches: Sequence[Line]) -> list[tuple[str, str, str]]:
    """Every Seer claim heard so far as (claimant, target, role title), in speech order."""
    return [(line.speaker, target, title) for line in speeches
            for target, title in _claimed(line.text)]


@lru_cache(maxsize=4096)
def mentions(text: str, player: str) -> bool:
    """Whether `text` names `player` as a word."""
    return player in text and re.search(rf"\b{re.escape(player)}\b", text) is not None


def pick(options: Sequence[Any], rng: np.random.Generator) -> Any:
    """A uniformly random element."""
    return options[int(rng.integers(len(options)))]


class Heuristic(Strategy):
    """Rule-of-thumb play for every Werewolf role (see the module docstring)."""

    name = "heuristic"
    scenarios = ("werewolf",)

    class Params(Strategy.Params):
        """How much the heuristic trusts and lies."""

        trust_claims: bool = Field(True, description="villagers follow the first Seer claim")
        fake_claim: float = Field(0.0, ge=0.0, le=1.0,
                                  description="a werewolf's chance to claim Seer when speaking")

    params: Params

    # -- what the player believes --------------------------------------------------------------
    def claimant(self, seat: Seat) -> str | None:
        """The first player who claimed the Seer (other than me), if any."""
        return next((c for c, _, _ in claims(seat.speeches) if c != seat.me), None)

    def wolves_named(self, seat: Seat) -> list[str]:
        """Alive players this player holds to be werewolves (not its own packmates)."""
        if seat.role == "seer":
            return [p for p, role in seat.known if role == "werewolf" and p in seat.alive]
        if seat.role == "werewolf" or not self.params.trust_claims:
            return []
        believed = self.claimant(seat)
        return [t for c, t, title in claims(seat.speeches)
                if c == believed and title == WOLF and t in seat.alive and t != seat.me]

    # -- night ---------------------------------------------------------------------------------
    @answers("attack")
    def attack(self, question: Question[Any], rng: np.random.Generator) -> str:
        view: TargetView = question.view
        seer = self.claimant(view.seat)
        return seer if seer in view.options else pick(view.options, rng)

    @answers("protect", "guard")
    def protect(self, question: Question[Any], rng: np.random.Generator) -> str:
        view: TargetView = question.view
        seer = self.claimant(view.seat)
        return seer if seer in view.options else pick(view.options, rng)

    @answers("inspect")
    def inspect(self, question: Question[Any], rng: np.random.Generator) -> str:
        return pick(question.view.options, rng)

    @answers("heal")
    def heal(self, question: Question[Any], rng: np.random.Generator) -> str:
        return "yes"

    @answers("poison")
    def poison(self, question: Question[Any], rng: np.random.Generator) -> str:
        view: TargetView = question.view
        named = [w for w in self.wolves_named(view.seat) if w in view.options]
        return named[0] if named else NOBODY

    # -- day -----------------------------------------------------------------------------------
    @answers("bid")
    def bid(self, question: Question[Any], rng: np.random.Generator) -> int:
        view: DebateView = question.view
        seat = view.seat
        if seat.role == "seer" and self._unannounced(seat):
            return 3
        if seat.today and mentions(seat.today[-1].text, seat.me):
            return 4
        return int(rng.integers(2))

    @answers("debate")
    def debate(self, question: Question[Any], rng: np.random.Generator) -> Speech:
        view: DebateView = question.view
        seat = view.seat
        if seat.role == "seer":
            found = self._unannounced(seat) or self.wolves_named(seat)
            if found:
                return Speech(say=claim(found[0], WOLF))
        elif seat.role == "werewolf":
            if rng.random() < self.params.fake_claim:
                villagers = [p for p in seat.alive if p != seat.me and p not in seat.team]
                return Speech(say=claim(pick(villagers, rng), WOLF))
        elif named := self.wolves_named(seat):
            return Speech(say=f"I believe {self.claimant(seat)}. Let us vote for {named[0]}.")
        return Speech(say="I do not know who the Werewolves are yet.")

    @answers("vote")
    def vote(self, question: Question[Any], rng: np.random.Generator) -> str:
        view: TargetView = question.view
        seat, options = view.seat, view.options
        if seat.role == "werewolf":
            seer = self.claimant(seat)
            if seer in options and seer not in seat.team:
                return seer
            prey = [p for p in options if p not in seat.team]
            return pick(prey or options, rng)
        named = [w for w in self.wolves_named(seat) if w in options]
        if named:
            return named[0]
        cleared = {p for p, role in seat.known if role != "werewolf"}
        return pick([p for p in options if p not in cleared] or options, rng)

    @answers("summarize")
    def summarize(self, question: Question[Any], rng: np.random.Generator) -> Summary:
        return Summary(summary="Nothing new to note.")

    def _unannounced(self, seat: Seat) -> list[str]:
        """Alive wolves the seer found and has not named yet."""
        said = {t for c, t, _ in claims(seat.speeches) if c == seat.me}
        return [p for p, role in seat.known
                if role == "werewolf" and p in seat.alive and p not in said]


BASELINES: tuple[type[Strategy], ...] = (Heuristic,)

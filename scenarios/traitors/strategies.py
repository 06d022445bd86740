"""Scripted Traitors baselines: every decision answered from the typed view, without a model.

``random`` (generic) picks a uniformly random legal answer everywhere. ``heuristic`` talks in
fixed sentences that other heuristic players act on:

- Faithfuls distrust anyone who accused a player later revealed to be a Faithful (the more such
  accusations, the more suspect). They accuse and vote for their top suspect (ties to seat
  order, so Faithfuls converge without conferring); without one they
  accuse a random other player (``"I suspect a3."``) and, with ``follow_crowd``, react and vote
  with the player accused most in the round's discussion (never themselves).
- Traitors pick a scapegoat without conferring (the Faithful accused most so far, ties to seat
  order), accuse it and vote for it, so their three votes land together.
- In the secret meeting the first Traitor proposes (``"Target: a5."``) the Faithful who
  accused a Traitor most, else a random Faithful; the others and the murder vote follow the
  first proposal, so the murder vote is unanimous.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import Field

from societas.scenarios.social_deduction import Line, Speech, Summary
from societas.scenarios.traitors.views import BallotView, Seat, TalkView
from societas.simulator.scenario import Question, Strategy, answers

ACCUSE = re.compile(r"I suspect (\S+)\.")
PROPOSE = re.compile(r"Target: (\S+)\.")


@lru_cache(maxsize=4096)
def _accused(text: str) -> tuple[str, ...]:
    """Players accused in one speech (speeches repeat: cached)."""
    return tuple(m[1] for m in ACCUSE.finditer(text)) if "I suspect" in text else ()


@lru_cache(maxsize=4096)
def _proposed(text: str) -> tuple[str, ...]:
    """Murder targets proposed in one meeting speech."""
    return tuple(m[1] for m in PROPOSE.finditer(text))


def accusations(lines: Iterable[Line]) -> list[tuple[str, str]]:
    """Every (accuser, accused) pair in the heuristic's sentence form, in order."""
    return [(line.speaker, accused) for line in lines for accused in _accused(line.text)]


def most_accused(lines: Iterable[Line], among: Sequence[str]) -> list[str]:
    """Players of `among` with the most accusations, in the order of `among`."""
    counts = Counter(t for _, t in accusations(lines) if t in among)
    if not counts:
        return []
    top = max(counts.values())
    return [p for p in among if counts.get(p) == top]


def pick(options: Sequence[Any], rng: np.random.Generator) -> Any:
    """A uniformly random element."""
    return options[int(rng.integers(len(options)))]


class Heuristic(Strategy):
    """Rule-of-thumb play for both Traitors roles (see the module docstring)."""

    name = "heuristic"
    scenarios = ("traitors",)

    class Params(Strategy.Params):
        """Whether Faithfuls vote with the crowd."""

        follow_crowd: bool = Field(True, description="faithfuls vote the most-accused player")

    params: Params

    def scapegoat(self, seat: Seat, heard: Sequence[Line]) -> str:
        """The Faithful every Traitor accuses and votes for, found without conferring."""
        faithfuls = [p for p in seat.alive if p != seat.me and p not in seat.team]
        return (most_accused(heard, faithfuls) or faithfuls)[0]

    # -- talk ----------------------------------------------------------------------------------
    def suspects(self, seat: Seat) -> list[str]:
        """Alive players who accused the most revealed Faithfuls (a Faithful's deduction)."""
        innocents = {p for p, role in seat.gone if role == "faithful"}
        counts = Counter(a for a, t in accusations(seat.speeches)
                         if t in innocents and a != seat.me and a in seat.alive)
        if not counts:
            return []
        top = max(counts.values())
        return [p for p in seat.alive if counts.get(p) == top]

    @answers("discuss")
    def discuss(self, question: Question[Any], rng: np.random.Generator) -> Speech:
        return self.speak(question.view, rng)

    def speak(self, view: TalkView, rng: np.random.Generator) -> Speech:
        """Accuse someone: a Traitor the scapegoat, a Faithful its suspect."""
        seat = view.seat
        if seat.role == "traitor":
            return Speech(say=f"I suspect {self.scapegoat(seat, view.heard)}.")
        suspects = self.suspects(seat)
        if suspects:
            return Speech(say=f"I suspect {suspects[0]}.")
        others = [p for p in seat.alive if p != seat.me]
        return Speech(say=f"I suspect {pick(others, rng)}.")

    @answers("react")
    def react(self, question: Question[Any], rng: np.random.Generator) -> Speech:
        view: TalkView = question.view
        seat = view.seat
        if view.banished:
            return Speech(say=f"So {view.banished} was a {view.revealed}. Let us keep going.")
        if seat.role == "faithful" and not self.suspects(seat) and self.params.follow_crowd:
            crowd = most_accused(view.heard, [p for p in seat.alive if p != seat.me])
            if crowd:
                return Speech(say=f"I suspect {pick(crowd, rng)}.")
        return self.speak(view, rng)

    @answers("summarize", "introduce")
    def summarize(self, question: Question[Any], rng: np.random.Generator) -> Summary:
        return Summary(summary="Nothing new to note.")

    @answers("plot")
    def plot(self, question: Question[Any], rng: np.random.Generator) -> Speech:
        view: TalkView = question.view
        seat = view.seat
        proposals = [p for line in view.heard for p in _proposed(line.text)]
        faithfuls = [p for p in seat.alive if p != seat.me and p not in seat.team]
        if proposals and proposals[0] in faithfuls:
            return Speech(say=f"Target: {proposals[0]}.")
        today = [line for line in seat.speeches if line.round == seat.round]
        hunters = [a for a, t in accusations(today) if t in seat.team]
        threats = [p for p in faithfuls if p in hunters]
        return Speech(say=f"Target: {(threats or [pick(faithfuls, rng)])[0]}.")

    # -- ballots -------------------------------------------------------------------------------
    @answers("vote")
    def vote(self, question: Question[Any], rng: np.random.Generator) -> str:
        view: BallotView = question.view
        seat, options = view.seat, view.options
        if seat.role == "traitor":
            target = self.scapegoat(seat, view.heard)
            return target if target in options else pick(options, rng)
        others = [p for p in options if p != seat.me]
        suspects = [p for p in self.suspects(seat) if p in others]
        if suspects:
            return suspects[0]
        if self.params.follow_crowd:
            crowd = most_accused(view.heard, others)
            if crowd:
                return pick(crowd, rng)
        return pick(others or options, rng)

    @answers("murder")
    def murder(self, question: Question[Any], rng: np.random.Generator) -> str:
        view: BallotView = question.view
        proposals = [p for line in view.heard for p in _proposed(line.text)]
        agreed = [p for p in proposals if p in view.options]
        return agreed[0] if agreed else pick(view.options, rng)


BASELINES: tuple[type[Strategy], ...] = (Heuristic,)

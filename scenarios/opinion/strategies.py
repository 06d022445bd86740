"""Classical updaters as scripted strategies, so LLM agents and models share one graph.

Each strategy answers an opinion report (a question whose view is an `UpdateView`) by applying
its classical rule to its own opinion and the stated opinions it just heard, then puts the result
on the report's integer scale (stochastic rounding by default, which keeps the expected value).
Public messages get a plain sentence stating the agent's opinion; reflections a short summary.
The same strategies serve ``opinion_dynamics`` and ``debate``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from societas.scenarios.opinion.kernels import (
    Rounding,
    deffuant_value,
    degroot_value,
    friedkin_johnsen_value,
    hegselmann_krause_value,
    to_scale,
)
from societas.scenarios.opinion.views import ReflectView, SpeakView, UpdateView
from societas.simulator.scenario import Form, Question, Strategy, answers


def stance_words(own: float, low: float, high: float) -> str:
    """How an agent at `own` on [low, high] describes its position."""
    position = (own - low) / (high - low) if high > low else 0.5
    if position < 0.2:
        return "strongly reject"
    if position < 0.45:
        return "lean against"
    if position <= 0.55:
        return "am unsure about"
    if position <= 0.8:
        return "lean towards"
    return "strongly support"


class OpinionStrategy(Strategy):
    """Base of the opinion strategies: reports by `update`, messages stating the opinion."""

    name = "opinion_strategy"
    scenarios = ("opinion_dynamics", "debate")

    class Params(Strategy.Params):
        """How a real-valued update becomes a point on the report scale."""

        rounding: Rounding = "stochastic"

    params: Params

    @answers("report", "rate")
    def report(self, question: Question[Any], rng: np.random.Generator) -> Any:
        """The classical update of the opinion, put on the question's scale."""
        view: UpdateView = question.view
        value = self.update(view, rng)
        return to_scale(value, view.low, view.high, self.params.rounding, rng)

    @answers("post", "tweet", "message")
    def message(self, question: Question[Any], rng: np.random.Generator) -> Any:
        """A public message stating the current opinion."""
        return self.speak(question, question.view)

    @answers("reflect")
    def reflect(self, question: Question[Any], rng: np.random.Generator) -> str:
        """A reflection that repeats what happened."""
        view: ReflectView = question.view
        return f"I talked about the claim that {view.claim}. {view.happened}"[:400]

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        """The new opinion, before rounding to the scale."""
        raise NotImplementedError

    def speak(self, question: Question[Any], view: SpeakView) -> Any:
        """A message stating the agent's current opinion (a form also carries its stance)."""
        text = f"I {stance_words(view.own, view.low, view.high)} the claim that {view.claim}."
        if isinstance(question, Form):
            return question.model(message=text, stance=int(round(view.own)))
        return text


class DeGrootStrategy(OpinionStrategy):
    """DeGroot: the mean of own opinion (weight `self_weight`) and every opinion heard."""

    name = "degroot"

    class Params(OpinionStrategy.Params):
        """Weight of the agent's own opinion relative to each message heard."""

        self_weight: float = Field(default=1.0, ge=0.0)

    params: Params

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        return degroot_value(view.own, view.heard_opinions(), self.params.self_weight)


class FriedkinJohnsenStrategy(OpinionStrategy):
    """Friedkin–Johnsen: λ · DeGroot mean + (1 − λ) · initial opinion."""

    name = "friedkin_johnsen"

    class Params(OpinionStrategy.Params):
        """Susceptibility λ (stubbornness 1 − λ) and the weight of the own opinion."""

        susceptibility: float = Field(default=0.8, ge=0.0, le=1.0)
        self_weight: float = Field(default=1.0, ge=0.0)

    params: Params

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        p = self.params
        return friedkin_johnsen_value(view.own, view.anchor, view.heard_opinions(),
                                      p.susceptibility, p.self_weight)


class HegselmannKrauseStrategy(OpinionStrategy):
    """Hegselmann–Krause: the mean of own opinion and the heard opinions within ε."""

    name = "hegselmann_krause"

    class Params(OpinionStrategy.Params):
        """Confidence bound ε, in scale units."""

        epsilon: float = Field(default=1.0, gt=0.0)

    params: Params

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        return hegselmann_krause_value(view.own, view.heard_opinions(), self.params.epsilon)


class DeffuantStrategy(OpinionStrategy):
    """Deffuant: move μ towards each heard opinion closer than ε."""

    name = "deffuant"

    class Params(OpinionStrategy.Params):
        """Confidence bound ε (scale units) and convergence parameter μ."""

        epsilon: float = Field(default=1.0, gt=0.0)
        mu: float = Field(default=0.5, gt=0.0, le=0.5)

    params: Params

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        p = self.params
        return deffuant_value(view.own, view.heard_opinions(), p.epsilon, p.mu)


class VoterStrategy(OpinionStrategy):
    """Voter model: adopt the opinion of one message heard, chosen at random."""

    name = "voter"

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        heard = view.heard_opinions()
        return heard[int(rng.integers(len(heard)))] if heard else view.own


class StubbornStrategy(OpinionStrategy):
    """Never moves: always reports its initial opinion."""

    name = "stubborn"

    def update(self, view: UpdateView, rng: np.random.Generator) -> float:
        return view.anchor


UPDATERS: tuple[type[Strategy], ...] = (
    DeGrootStrategy, FriedkinJohnsenStrategy, HegselmannKrauseStrategy, DeffuantStrategy,
    VoterStrategy, StubbornStrategy)

"""Classical baselines for the donor game (scripted, no model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from societas.scenarios.donor_game.kernels import Action
from societas.scenarios.donor_game.views import DonationView, Move
from societas.simulator.scenario import Form, Question, Strategy, answers


def reply(question: Question[Any], action: Action, amount: float) -> Any:
    """The answer in the question's shape (a number, or a Move when punishment is on)."""
    view: DonationView = question.view
    amount = float(min(max(amount, 0.0), view.own_resources))
    if isinstance(question, Form):
        return Move(action=action, amount=amount)
    return amount if action == "donate" else 0.0


class _DonorStrategy(Strategy):
    """A donor-game baseline: states its rule as its strategy, then donates by it."""

    scenarios = ("donor_game",)
    description = "My strategy will be to follow my rule."

    @answers("strategy")
    def state_strategy(self, question: Question[Any], rng: np.random.Generator) -> str:
        return self.description

    @answers("donate")
    def move(self, question: Question[Any], rng: np.random.Generator) -> Any:
        return self.donate(question, question.view, rng)

    def donate(self, question: Question[Any], view: DonationView,
               rng: np.random.Generator) -> Any:
        """The move of this rule, in the question's shape (see `reply`)."""
        raise NotImplementedError


class AlwaysZero(_DonorStrategy):
    """Never donates (the defector)."""

    name = "always_zero"
    description = "My strategy will be to never give anything."

    def donate(self, question: Question[Any], view: DonationView, rng: np.random.Generator) -> Any:
        return reply(question, "donate", 0.0)


class AlwaysAll(_DonorStrategy):
    """Donates everything (the unconditional cooperator)."""

    name = "always_all"
    description = "My strategy will be to always give everything I have."

    def donate(self, question: Question[Any], view: DonationView, rng: np.random.Generator) -> Any:
        return reply(question, "donate", view.own_resources)


class FixedFraction(_DonorStrategy):
    """Donates a fixed fraction of its current resources."""

    name = "fixed_fraction"

    class Params(Strategy.Params):
        """The share of current resources given each round."""

        fraction: float = Field(default=0.5, ge=0.0, le=1.0)

    params: Params

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"My strategy will be to give {self.params.fraction:.0%} of what I have."

    def donate(self, question: Question[Any], view: DonationView, rng: np.random.Generator) -> Any:
        return reply(question, "donate", self.params.fraction * view.own_resources)


class Discriminator(_DonorStrategy):
    """Indirect reciprocity: rewards recipients whose last donation was generous.

    Donates `generous` of its resources when the recipient's most recent donation fraction is at
    least `threshold` (or when the recipient has no history yet), otherwise `stingy`; with
    punishment enabled and `punish` > 0, it punishes stingy recipients with that fraction instead.
    """

    name = "discriminator"

    class Params(Strategy.Params):
        """Thresholds and fractions of the discriminator."""

        threshold: float = Field(default=0.5, ge=0.0, le=1.0)
        generous: float = Field(default=0.5, ge=0.0, le=1.0)
        stingy: float = Field(default=0.0, ge=0.0, le=1.0)
        punish: float = Field(default=0.0, ge=0.0, le=1.0)

    params: Params

    description = ("My strategy will be to give generously to those who gave generously last time, "
                   "and little to those who did not.")

    def donate(self, question: Question[Any], view: DonationView, rng: np.random.Generator) -> Any:
        p = self.params
        last = view.trace[0] if view.trace else None
        deserving = last is None or (last.action == "donate" and last.fraction >= p.threshold)
        if deserving:
            return reply(question, "donate", p.generous * view.own_resources)
        if view.punishment and p.punish > 0:
            return reply(question, "punish", p.punish * view.own_resources)
        return reply(question, "donate", p.stingy * view.own_resources)


BASELINES: tuple[type[Strategy], ...] = (AlwaysZero, AlwaysAll, FixedFraction, Discriminator)

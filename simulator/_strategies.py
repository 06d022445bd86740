"""Scripted strategies: policies that answer questions from their typed view, without a model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from societas.simulator._questions import Question
from societas.simulator._requests import Request


class Strategy:
    """A named scripted policy; subclasses override `answer` and may declare `Params`.

    Strategies are stateless: everything they may use is in the question (its ``view``) and the
    per-request ``rng``, which keeps every scripted answer a pure function of the request.
    """

    name: ClassVar[str] = "strategy"

    class Params(BaseModel):
        """Parameters set in the population config (none by default)."""

        model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def answer(self, question: Question[Any], rng: np.random.Generator) -> Any:
        """The answer to `question`; by default a uniformly random valid one."""
        return question.sample(rng)


class RandomStrategy(Strategy):
    """A uniformly random valid answer to every question."""

    name = "random"


class FixedStrategy(Strategy):
    """Fixed answers by question name (``answers: {vote: p1}``); random for other questions."""

    name = "fixed"

    class Params(Strategy.Params):
        answers: dict[str, Any] = {}

    def answer(self, question: Question[Any], rng: np.random.Generator) -> Any:
        if question.name in self.params.answers:
            return question.from_json(self.params.answers[question.name])
        return question.sample(rng)


GENERIC_STRATEGIES: tuple[type[Strategy], ...] = (RandomStrategy, FixedStrategy)


class StrategyHandler:
    """A `ScriptedBackend` handler dispatching each request to its agent's strategy."""

    def __init__(self, strategies: dict[str, Strategy]) -> None:
        self._strategies = strategies

    def __call__(self, request: Request) -> str:
        strategy = self._strategies[request.policy]
        rng = np.random.Generator(np.random.PCG64(request.seed))
        return request.question.encode(strategy.answer(request.question, rng))


def strategy_table(extra: Iterable[type[Strategy]]) -> dict[str, type[Strategy]]:
    """Generic strategies plus a scenario's own, by name (a scenario's name wins)."""
    return {cls.name: cls for cls in (*GENERIC_STRATEGIES, *extra)}

"""Scripted strategies: policies that answer questions from their typed view, without a model.

A strategy answers each question through its verb table: methods marked ``@answers("vote")``
answer the questions of that name. The table is explicit and checked when a run is planned
against the questions its scenario declares, so a misspelt verb is a config error rather than a
question silently answered at random.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from societas.simulator._questions import Question
from societas.simulator._requests import Request

F = TypeVar("F", bound=Callable[..., Any])


def answers(*verbs: str) -> Callable[[F], F]:
    """Mark a strategy method ``(self, question, rng) -> answer`` as its answer to `verbs`."""
    if not verbs:
        raise TypeError("@answers needs at least one question name")

    def mark(method: F) -> F:
        method.__answers__ = (*getattr(method, "__answers__", ()), *verbs)  # type: ignore[attr-defined]
        return method

    return mark


class Strategy:
    """A named scripted policy; subclasses answer questions through ``@answers`` methods.

    Strategies are stateless: everything they may use is in the question (its ``view``) and the
    per-request ``rng``, which keeps every scripted answer a pure function of the request.

    Attributes:
        name: the name configs use (``population.strategy``).
        scenarios: the scenarios the strategy was written for; empty for a generic strategy that
            answers any question (then its verb table is empty too).
        verbs: question name → method name, collected from ``@answers`` (inherited, and
            overridable by name in subclasses).
    """

    name: ClassVar[str] = "strategy"
    scenarios: ClassVar[tuple[str, ...]] = ()
    verbs: ClassVar[Mapping[str, str]] = MappingProxyType({})

    class Params(BaseModel):
        """Parameters set in the population config (none by default)."""

        model_config = ConfigDict(extra="forbid", frozen=True)

    params: Params
    """The validated parameters. A subclass defining its own `Params` redeclares this as
    ``params: Params`` so that type checkers know their fields."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = dict(cls.verbs)
        for attribute, value in vars(cls).items():
            for verb in getattr(value, "__answers__", ()):
                table[verb] = attribute
        cls.verbs = MappingProxyType(table)

    def __init__(self, params: Params | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def answer(self, question: Question[Any], rng: np.random.Generator) -> Any:
        """The answer to `question`: its verb's method, else `otherwise`."""
        method = self.verbs.get(question.name)
        if method is None:
            return self.otherwise(question, rng)
        return getattr(self, method)(question, rng)

    def otherwise(self, question: Question[Any], rng: np.random.Generator) -> Any:
        """The answer to a question outside the verb table: a uniformly random valid one."""
        return question.sample(rng)

    def unfit_for(self, scenario: str, asked: frozenset[str],
                  asked_by: Mapping[str, frozenset[str]]) -> str | None:
        """Why this strategy cannot play `scenario`, whose questions are `asked` (None: it can).

        Args:
            scenario: the scenario's name.
            asked: the question names the scenario declares (empty: undeclared, not checked).
            asked_by: the declared questions of every scenario in `scenarios`, by name.
        """
        if self.scenarios and scenario not in self.scenarios:
            return f"it was written for {', '.join(self.scenarios)}, not {scenario}"
        if not self.verbs or not asked:
            return None
        missing = sorted(asked - set(self.verbs))
        if missing:
            return (f"it has no answer for {', '.join(missing)} (it answers "
                    f"{', '.join(sorted(self.verbs))}); add @answers methods for them")
        known = set(asked).union(*(asked_by.get(s, frozenset()) for s in self.scenarios))
        unknown = sorted(set(self.verbs) - known)
        if unknown:
            return (f"it answers {', '.join(unknown)}, which {scenario} never asks (it asks "
                    f"{', '.join(sorted(asked))}); check the names given to @answers")
        return None


class RandomStrategy(Strategy):
    """A uniformly random valid answer to every question."""

    name = "random"


class FixedStrategy(Strategy):
    """Fixed answers by question name (``answers: {vote: p1}``); random for other questions."""

    name = "fixed"

    class Params(Strategy.Params):
        """The answer to give, by question name."""

        answers: dict[str, Any] = {}

    params: Params

    def otherwise(self, question: Question[Any], rng: np.random.Generator) -> Any:
        if question.name in self.params.answers:
            return question.from_json(self.params.answers[question.name])
        return question.sample(rng)

    def unfit_for(self, scenario: str, asked: frozenset[str],
                  asked_by: Mapping[str, frozenset[str]]) -> str | None:
        unknown = sorted(set(self.params.answers) - asked) if asked else []
        if unknown:
            return (f"params.answers names {', '.join(unknown)}, which {scenario} never asks "
                    f"(it asks {', '.join(sorted(asked))})")
        return None


GENERIC_STRATEGIES: tuple[type[Strategy], ...] = (RandomStrategy, FixedStrategy)


class StrategyHandler:
    """A `ScriptedBackend` handler dispatching each request to its agent's strategy."""

    def __init__(self, strategies: dict[str, Strategy]) -> None:
        self._strategies = strategies

    def __call__(self, request: Request) -> str:
        strategy = self._strategies[request.policy]
        rng = np.random.Generator(np.random.PCG64(request.seed))
        return request.question.encode(strategy.answer(request.question, rng))


def strategy_table(*groups: Iterable[type[Strategy]]) -> dict[str, type[Strategy]]:
    """Strategies by name: the generic ones, then each group in turn (a later name wins)."""
    return {cls.name: cls for group in (GENERIC_STRATEGIES, *groups) for cls in group}

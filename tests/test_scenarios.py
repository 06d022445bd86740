"""Every registered scenario honours the engine's contract (simulator.testing.check_scenario),
and each of the contract's checks fails on a scenario or log that breaks it."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pytest
from pydantic import BaseModel

from societas.scenarios.donor_game import DonorGame
from societas.simulator import RunConfig, _registry, scenario_names
from societas.simulator._rows import CallRow, EventRow
from societas.simulator.scenario import Event, Scenario, register_scenario
from societas.simulator.testing import (
    check_event_data,
    check_questions,
    check_removed_not_asked,
    check_scenario,
    check_step_bound,
)


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_contract(name, tmp_path):
    backends = dict(_registry._BACKENDS)
    check_scenario(name, tmp_path)
    assert backends == _registry._BACKENDS, "check_scenario changed the global backend registry"


# -- a scenario that breaks one promise fails the check ------------------------------------------
class _Unbounded(DonorGame):
    name = "donor_game_unbounded"

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        return 2  # the smoke run plays 2 generations of 1 + 4 steps


class _Undeclared(DonorGame):
    name = "donor_game_undeclared"
    events = ()


class _Unasked(DonorGame):
    name = "donor_game_unasked"
    questions = frozenset()


@pytest.fixture
def registered():
    def register(cls: type[Scenario]) -> str:
        register_scenario(cls)
        names.append(cls.name)
        return cls.name

    names: list[str] = []
    yield register
    for name in names:
        _registry._SCENARIOS.pop(name)


@pytest.mark.parametrize(("scenario", "message"), [
    (_Unbounded, "lies beyond max_steps=2"),
    (_Undeclared, "simulation 0, event 0 .*kind 'strategy_chosen' is not among the "
                  "scenario's declared events"),
    (_Unasked, "asked a0 'strategy' at step 1, not among its declared questions"),
], ids=["step bound", "events", "questions"])
def test_check_scenario_fails_on_a_broken_promise(scenario, message, registered, tmp_path):
    with pytest.raises(AssertionError, match=message):
        check_scenario(registered(scenario), tmp_path)


# -- each log check, on rows built by hand --------------------------------------------------------
class Joined(Event):
    kind: ClassVar[str] = "joined"
    score: int


class Left(Event):
    kind: ClassVar[str] = "left"

    def removes(self) -> tuple[str, ...]:
        return (self.actor,) if self.actor else ()


class Tiny(Scenario):
    name = "tiny"
    events = (Joined, Left)
    questions = frozenset({"vote"})


T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def event(seq: int, step: int, kind: str, data: str = "{}", actor: str | None = "a0",
          *, us: int = 0) -> EventRow:
    return EventRow("r", 0, seq, step, "play", kind, actor, None, data,
                    T0 + dt.timedelta(microseconds=us))


def call(step: int, question: str = "vote", agent: str = "a0", *, us: int = 0) -> CallRow:
    return CallRow("r", 0, agent, step, 0, 0, question, "random", "scripted", 1, None, None,
                   '"yes"', '"yes"', None, False, None, 0, 0, 0, 0.0, 0, 1,
                   T0 + dt.timedelta(microseconds=us))


def test_event_data_is_rebuilt_as_its_class():
    typed = check_event_data(Tiny, [event(0, 1, "joined", '{"score": 3}'), event(1, 2, "left"),
                                    event(2, 2, "outcome", '{"winner": "a1"}', None)])
    assert [type(e).__name__ for e in typed] == ["Joined", "Left", "Outcome"]
    assert typed[0] == Joined(actor="a0", score=3) and typed[1].removes() == ("a0",)


@pytest.mark.parametrize(("row", "message"), [
    (event(4, 1, "joined", '{"score": "high"}'), r"event 4 \('joined' at step 1\): its data "
     r"\{\"score\": \"high\"\} is not a valid Joined"),
    (event(5, 1, "joined", '{"score": 1, "bonus": 2}'), "event 5 .* is not a valid Joined"),
    (event(6, 1, "joined"), "event 6 .* is not a valid Joined"),
    (event(7, 1, "waved"), r"event 7 \('waved' at step 1\): kind 'waved' is not among the "
     "scenario's declared events"),
], ids=["wrong type", "extra field", "missing field", "undeclared kind"])
def test_an_invalid_event_fails_naming_it(row, message):
    with pytest.raises(AssertionError, match=message):
        check_event_data(Tiny, [event(0, 1, "joined", '{"score": 3}'), row])


def test_events_sharing_a_kind_fail():
    class Twin(Event):
        kind: ClassVar[str] = "joined"

    class Twins(Tiny):
        events = (Joined, Twin)

    with pytest.raises(AssertionError, match="Twin and Joined share kind 'joined'"):
        check_event_data(Twins, [])


def test_an_undeclared_question_fails():
    check_questions(Tiny, [call(1), call(2)])
    with pytest.raises(AssertionError, match="asked a0 'shout' at step 2, not among"):
        check_questions(Tiny, [call(1), call(2, "shout")])


def test_the_step_bound_holds_for_events_and_calls():
    check_step_bound("tiny", 3, [event(0, 3, "left")], [call(3)])
    check_step_bound("tiny", None, [event(0, 99, "left")], [call(99)])
    with pytest.raises(AssertionError, match=r"event 0 \('left' at step 4\) lies beyond"):
        check_step_bound("tiny", 3, [event(0, 4, "left")], [])
    with pytest.raises(AssertionError, match="'vote' at step 4, beyond max_steps=3"):
        check_step_bound("tiny", 3, [], [call(4)])


def removal_check(calls: list[CallRow]) -> None:
    events = [event(0, 1, "joined", '{"score": 3}', us=5), event(1, 2, "left", us=10),
              event(2, 3, "outcome", actor=None, us=20)]
    check_removed_not_asked("tiny", events, check_event_data(Tiny, events), calls)


def test_a_removed_agent_may_be_asked_until_it_leaves():
    # earlier steps, the same step before its removal was logged, and other agents afterwards
    removal_check([call(1), call(2, us=9), call(2, us=10), call(3, agent="a1")])


@pytest.mark.parametrize("late", [call(3), call(2, us=11)], ids=["later step", "same step"])
def test_a_removed_agent_asked_afterwards_fails(late):
    with pytest.raises(AssertionError, match=r"asked a0 'vote' at step \d, after simulation 0, "
                                             r"event 1 \('left' at step 2\) took it out of play"):
        removal_check([call(1), late])

"""Scripted strategies answer through an explicit verb table, checked against the scenario."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from societas.simulator import ConfigError
from societas.simulator._registry import _STRATEGIES, get_scenario, scenario_names
from societas.simulator._setup import plan_run
from societas.simulator.scenario import Question, Strategy, answers, register_strategy
from tests.conftest import small_run_config


@pytest.fixture
def registered():
    """Register strategies for one test only."""
    added: list[str] = []

    def add(cls: type[Strategy]) -> type[Strategy]:
        added.append(cls.name)
        return register_strategy(cls)

    yield add
    for name in added:
        _STRATEGIES.pop(name, None)


def donor(tmp_path, **population: Any) -> dict[str, Any]:
    return small_run_config("donor_game", tmp_path, scenario={"generations": 1, "rounds": 2},
                            population={"size": 4, **population}, seed=0)


class Generous(Strategy):
    """Gives half, says so."""

    name = "generous_for_test"
    scenarios = ("donor_game",)

    @answers("strategy")
    def state(self, question: Question[Any], rng: np.random.Generator) -> str:
        return "I give half."

    @answers("donate")
    def give(self, question: Question[Any], rng: np.random.Generator) -> float:
        return question.view.own_resources / 2


def test_the_verb_table_collects_marked_methods_and_follows_overrides_by_name():
    class Loud(Generous):
        name = "loud_for_test"

        def give(self, question: Question[Any], rng: np.random.Generator) -> float:
            return question.view.own_resources

    assert dict(Generous.verbs) == {"strategy": "state", "donate": "give"}
    assert dict(Loud.verbs) == dict(Generous.verbs)
    view = type("View", (), {"own_resources": 8.0})()
    question = type("Q", (), {"name": "donate", "view": view})()
    rng = np.random.default_rng(0)
    assert Generous().answer(question, rng) == 4.0
    assert Loud().answer(question, rng) == 8.0


def test_a_registered_strategy_plays_from_the_config(tmp_path, registered):
    from societas.simulator import read_table, run

    registered(Generous)
    result = run(donor(tmp_path, strategy="generous_for_test"))
    assert result.counters.fallbacks == 0
    events = read_table(result.run_dir).to_pylist()
    said = {json.loads(e["data"])["strategy"] for e in events if e["kind"] == "strategy_chosen"}
    given = [json.loads(e["data"])["fraction"] for e in events if e["kind"] == "donated"]
    assert said == {"I give half."}
    assert len(given) == 4 and set(given) == {0.5}


def test_a_misspelt_verb_is_a_config_error(tmp_path, registered):
    class Typo(Generous):
        name = "typo_for_test"

        @answers("donnate")
        def other(self, question: Question[Any], rng: np.random.Generator) -> float:
            return 0.0

    registered(Typo)
    with pytest.raises(ConfigError, match=r"population\.strategy: 'typo_for_test' cannot play "
                       r"donor_game: it answers donnate, which donor_game never asks"):
        plan_run(donor(tmp_path, strategy="typo_for_test"))


def test_a_strategy_missing_a_verb_is_a_config_error(tmp_path, registered):
    class Mute(Strategy):
        name = "mute_for_test"
        scenarios = ("donor_game",)

        @answers("donate")
        def give(self, question: Question[Any], rng: np.random.Generator) -> float:
            return 0.0

    registered(Mute)
    with pytest.raises(ConfigError, match="it has no answer for strategy"):
        plan_run(donor(tmp_path, strategy="mute_for_test"))


def test_a_strategy_written_for_another_scenario_is_refused(tmp_path):
    config = {"scenario": {"name": "traitors"}, "population": {"size": 10,
              "groups": [{"count": 2, "strategy": "degroot"}]}, "out_dir": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"population\.groups\.0\.strategy: unknown strategy "
                       "'degroot'"):
        plan_run(config)


def test_a_registered_name_may_not_shadow_a_scenario_baseline(tmp_path, registered):
    class Impostor(Generous):
        name = "discriminator"

    registered(Impostor)
    with pytest.raises(ConfigError, match="reuses the name of donor_game's own 'discriminator'"):
        plan_run(donor(tmp_path, strategy="discriminator"))


def test_fixed_answers_and_interventions_must_name_asked_questions(tmp_path):
    with pytest.raises(ConfigError, match="params.answers names donnate, which donor_game never"):
        plan_run(donor(tmp_path, strategy="fixed", params={"answers": {"donnate": 1}}))
    config = {**donor(tmp_path), "interventions": [
        {"agent": "a0", "step": 2, "question": "donnate", "answer": 0}]}
    with pytest.raises(ConfigError, match=r"interventions\.0\.question: donor_game never asks "
                       "'donnate'; its questions: donate, strategy"):
        plan_run(config)


@pytest.mark.parametrize("name", scenario_names())
def test_every_baseline_answers_exactly_the_questions_of_its_scenarios(name):
    scenario = get_scenario(name)
    for cls in scenario.strategies:
        assert name in cls.scenarios, f"{cls.__name__} does not list {name} in its scenarios"
        asked = set().union(*(get_scenario(s).questions for s in cls.scenarios))
        assert set(cls.verbs) == asked, f"{cls.__name__}: {sorted(cls.verbs)} vs {sorted(asked)}"

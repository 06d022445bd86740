"""One agent memory: typed channels with their own bounds, set by ``population.memory``."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from societas.agents import Agent, Memory, Note
from societas.simulator import run
from societas.simulator._registry import get_scenario
from societas.simulator._setup import build_population, memory_limits, plan_run
from societas.simulator.backends import Request, ScriptedBackend
from societas.simulator.scenario import ConfigError, Form

SOCIAL = {"announcements": 30, "observations": 30, "summaries": 3}
NOTES = re.compile(r"Your own notes:\n((?:- .*\n?)*)")
ANNOUNCEMENTS = re.compile(r"Moderator announcements:\n((?:- .*\n?)*)")
REMEMBERED = re.compile(r"What you remember:\n((?:- .*\n?)*)")


def lines(pattern: re.Pattern[str], text: str) -> list[str]:
    found = pattern.search(text)
    return found[1].strip().splitlines() if found else []


# -- the memory type ---------------------------------------------------------------------------
def test_each_channel_keeps_its_own_most_recent_entries():
    memory = Memory({"public": 2, "private": 1, "none": 0})
    for r in range(1, 4):
        memory.add(f"public {r}", channel="public", round=r)
        memory.add(f"private {r}", channel="private", round=r)
        memory.add(f"none {r}", channel="none", round=r)
    assert memory.notes("public") == (Note(2, "public 2"), Note(3, "public 3"))
    assert memory.notes("private") == (Note(3, "private 3"),)
    assert memory.notes("none") == ()
    assert dict(memory.snapshot()) == {"public": memory.notes("public"),
                                       "private": memory.notes("private"), "none": ()}
    with pytest.raises(ValueError, match="no channel 'secret'; its channels: public, private"):
        memory.add("x", channel="secret")
    with pytest.raises(ValueError, match="channel 'public' must be >= 0"):
        Memory({"public": -1})


def test_a_snapshot_is_cached_until_the_memory_changes():
    memory = Memory({"a": 5})
    first = memory.snapshot()
    assert memory.snapshot() is first
    memory.add("new", channel="a", round=4)
    second = memory.snapshot()
    assert second is not first and second["a"] == (Note(4, "new"),) and first["a"] == ()
    with pytest.raises(TypeError):
        second["a"] = ()  # type: ignore[index]
    memory.clear()
    assert memory.snapshot()["a"] == ()


def test_an_int_is_the_single_default_channel_rendered_as_what_you_remember():
    agent = Agent("a0", policy="model", memory=2)
    assert agent.memory.limits == {"default": 2}
    for i in range(3):
        agent.remember(f"event {i}")
    assert list(agent.memory) == ["event 1", "event 2"] and len(agent.memory) == 2
    question = Form(name="q", prompt="Why?", model=_Answer)
    user = agent.messages(question)[-1]["content"]
    assert user.startswith("What you remember:\n- event 1\n- event 2\n\nWhy?")


def test_channels_of_their_own_are_not_rendered_by_the_agent():
    agent = Agent("a0", policy="model", memory=SOCIAL)
    agent.remember("A secret.", channel="observations", round=1)
    question = Form(name="q", prompt="Why?", model=_Answer)
    assert agent.messages(question)[-1]["content"].startswith("Why?")
    assert Note(1, 'He said "hi"').quoted == '"He said \\"hi\\""'


# -- population.memory -------------------------------------------------------------------------
@pytest.mark.parametrize(("memory", "expected"), [
    (None, SOCIAL),
    (4, {"announcements": 4, "observations": 4, "summaries": 4}),
    ({"summaries": 1}, {"announcements": 30, "observations": 30, "summaries": 1}),
])
def test_population_memory_bounds_every_channel_or_the_named_ones(memory, expected):
    assert memory_limits(get_scenario("werewolf"), memory) == expected
    plan = plan_run(werewolf_config(memory))
    assert plan.config.population.memory == expected  # the manifest records it resolved
    agents = build_population(plan, 0)
    assert all(agents[p].memory.limits == expected for p in agents)  # type: ignore[attr-defined]


def test_an_unknown_channel_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"^population\.memory\.notes: werewolf has no memory "
                       r"channel 'notes'; its channels: announcements, observations, summaries"):
        plan_run(werewolf_config({"notes": 1}))
    with pytest.raises(ConfigError, match=r"^population\.memory\.summaries: donor_game has no "
                       r"memory channel 'summaries'; its channels: default$"):
        plan_run({"scenario": {"name": "donor_game"}, "population": {"memory": {"summaries": 1}}})


@pytest.mark.parametrize(("name", "size"), [("werewolf", 8), ("traitors", 10)])
def test_the_old_scenario_memory_key_says_to_use_population_memory(name, size):
    config = {"scenario": {"name": name, "memory": {"summaries": 1}},
              "population": {"size": size}}
    with pytest.raises(ConfigError, match=r"^scenario\.memory: memory bounds moved to "
                       r"population\.memory.*channels: announcements, observations, summaries"):
        plan_run(config)


@pytest.mark.parametrize("memory", [-1, {"summaries": -2}, "many", True])
def test_a_memory_bound_is_a_whole_number(memory):
    with pytest.raises(ConfigError, match=r"^population\.memory: a memory bound is a whole number"):
        plan_run(werewolf_config(memory))


def test_donor_game_memory_is_still_bounded_by_an_int():
    plan = plan_run({"scenario": {"name": "donor_game"}, "population": {"size": 4, "memory": 2}})
    assert plan.config.population.memory == {"default": 2}
    agent = build_population(plan, 0)["a0"]
    for i in range(5):
        agent.remember(f"round {i}")
    assert list(agent.memory) == ["round 3", "round 4"]  # type: ignore[attr-defined]
    default = plan_run({"scenario": {"name": "donor_game"}, "population": {"size": 4}})
    assert default.config.population.memory == {"default": 20}


def test_opinion_dynamics_prompts_show_at_most_population_memory_entries(tmp_path):
    prompts = played(tmp_path, "opinion_dynamics", {"steps": 12}, 4, memory=2,
                     graph={"name": "complete"})
    shown = [len(lines(REMEMBERED, user)) for user in prompts.values()]
    assert max(shown) == 2


# -- in a Werewolf game ------------------------------------------------------------------------
def test_population_memory_changes_what_werewolf_prompts_show(tmp_path):
    default = played(tmp_path, "werewolf", {}, 8, memory=None, run_id="default")
    one = played(tmp_path, "werewolf", {}, 8, memory={"summaries": 1}, run_id="one")
    tight = played(tmp_path, "werewolf", {}, 8, memory=1, run_id="tight")
    assert max(len(lines(NOTES, user)) for user in default.values()) == 3
    assert max(len(lines(NOTES, user)) for user in one.values()) == 1
    assert max(len(lines(ANNOUNCEMENTS, user)) for user in one.values()) > 1
    assert max(len(lines(ANNOUNCEMENTS, user)) for user in tight.values()) == 1
    # the one note kept is the player's latest summary
    summaries: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for (sim, agent, step, _, question), user in one.items():
        if question == "summarize":
            summaries.setdefault((agent, sim), []).append((step, ANSWERS[user]))
    checked = 0
    for (sim, agent, step, _, _), user in one.items():
        earlier = [text for s, text in summaries.get((agent, sim), []) if s < step]
        notes = lines(NOTES, user)
        assert len(notes) == (1 if earlier else 0)
        if earlier:
            assert notes[0].endswith(": " + json.dumps(earlier[-1], ensure_ascii=False))
            checked += 1
    assert checked > 10


# -- helpers -----------------------------------------------------------------------------------
class _Answer(BaseModel):
    why: str


ANSWERS: dict[str, str] = {}
"""Prompt (user turn) → the summary answered to it, for summarize questions."""


def werewolf_config(memory: Any) -> dict[str, Any]:
    return {"scenario": {"name": "werewolf"}, "population": {"size": 8, "memory": memory}}


def played(tmp_path, name: str, scenario: dict[str, Any], size: int, *, memory: Any,
           run_id: str = "run", **extra: Any) -> dict[tuple[int, str, int, int, str], str]:
    """Two games with a random stand-in model: (sim, agent, step, k, question) → user turn."""
    prompts: dict[tuple[int, str, int, int, str], str] = {}

    def model(request: Request) -> str:
        rng = np.random.Generator(np.random.PCG64(request.seed))
        answer = request.question.encode(request.question.sample(rng))
        user = request.messages[-1]["content"]
        key = request.key
        prompts[(key.sim, key.agent, key.step, key.k, request.question.name)] = user
        if request.question.name == "summarize":
            ANSWERS[user] = json.loads(answer)["summary"]
        return answer

    run({"scenario": {"name": name, **scenario}, "backend": {"name": "openai"},
         "population": {"size": size, "memory": memory}, "seed": 5, "simulations": 2,
         "out_dir": str(tmp_path), "run_id": f"{name}-{run_id}", "progress": False, **extra},
        model_backend=ScriptedBackend(model))
    return prompts

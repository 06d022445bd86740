"""What models are shown in Werewolf and The Traitors: shared prefix, memory, secrets, laziness."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from societas import simulator
from societas.scenarios._templates import Prompts
from societas.simulator.backends import Request, ScriptedBackend, register_backend


class Recorder:
    """A model stand-in answering at random and keeping every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> str:
        self.requests.append(request)
        question = request.question
        return question.encode(question.sample(np.random.default_rng(request.seed)))

    def asked(self, agent: str | None = None, verb: str | None = None) -> list[Request]:
        return [r for r in self.requests if (agent is None or r.key.agent == agent)
                and (verb is None or r.question.name == verb)]


def play(tmp_path, name: str, size: int, seed: int = 3, memory=None, **scenario) -> Recorder:
    recorder = Recorder()
    register_backend("recorder", lambda cfg, **_: ScriptedBackend(recorder))
    simulator.run({"scenario": {"name": name, **scenario}, "backend": {"name": "recorder"},
                   "population": {"size": size, "memory": memory}, "out_dir": str(tmp_path),
                   "run_id": f"{name}-{seed}", "progress": False, "seed": seed})
    return recorder


def roles_of(recorder: Recorder) -> dict[str, str]:
    roles = {}
    for r in recorder.requests:
        found = re.search(r"You are an? (\w+)\.", r.messages[0]["content"])
        roles[r.key.agent] = found[1]
    return roles


def test_werewolf_prompts_put_rules_first_then_role_then_memory_then_the_question(tmp_path):
    recorder = play(tmp_path, "werewolf", 8, memory={"announcements": 30, "observations": 2,
                                                     "summaries": 1})
    systems = {r.key.agent: r.messages[0]["content"] for r in recorder.requests}
    rules = {s.split("YOUR ROLE")[0] for s in systems.values()}
    assert len(rules) == 1 and next(iter(rules)).startswith("You are playing Werewolf")
    roles = roles_of(recorder)
    wolves = sorted(p for p, role in roles.items() if role == "Werewolf")
    assert len(wolves) == 2 and len(systems) == 8
    for wolf in wolves:
        partner = next(w for w in wolves if w != wolf)
        assert f"Your fellow Werewolf is {partner}." in systems[wolf]
    assert not any("fellow Werewolf" in systems[p] for p in systems if p not in wolves)
    for request in recorder.requests:
        user = request.messages[-1]["content"]
        state = user.index("GAME STATE")
        assert user.rfind("Moderator announcements:", 0, state) in (-1, 0)
        assert user.endswith("}") and "Reply with a JSON object only" in user[state:]
        observations = re.search(r"Your private observations:\n((?:- .*\n?)*)", user)
        assert observations is None or len(observations[1].strip().splitlines()) <= 2
        notes = re.search(r"Your own notes:\n((?:- .*\n?)*)", user)
        assert notes is None or len(notes[1].strip().splitlines()) <= 1


def test_only_the_seer_learns_what_it_inspected(tmp_path):
    recorder = play(tmp_path, "werewolf", 8, seed=4)
    seer = next(p for p, role in roles_of(recorder).items() if role == "Seer")
    first = recorder.asked(seer, "inspect")[0]
    target = first.question.view.seat.alive and None
    later = [r for r in recorder.requests if r.key.step > first.key.step]
    finding = re.compile(r"During the night, I inspected (\w+) and learned they are an? (\w+)")
    seen = [finding.search(r.messages[-1]["content"]) for r in later if r.key.agent == seer]
    assert any(seen), "the seer's later prompts recall its finding"
    target = next(m for m in seen if m)[1]
    assert not any(finding.search(r.messages[-1]["content"]) for r in later
                   if r.key.agent != seer), f"only the seer knows about {target}"


def test_traitors_prompts_keep_the_meeting_secret_and_the_victims_role_unknown(tmp_path):
    recorder = play(tmp_path, "traitors", 10, seed=2)
    systems = {r.key.agent: r.messages[0]["content"] for r in recorder.requests}
    assert len({s.split("YOUR ROLE")[0] for s in systems.values()}) == 1
    roles = roles_of(recorder)
    traitors = {p for p, role in roles.items() if role == "Traitor"}
    assert len(traitors) == 3
    plots = recorder.asked(verb="plot")
    assert plots and {r.key.agent for r in plots} <= traitors
    for request in recorder.requests:
        user = request.messages[-1]["content"]
        if request.key.agent not in traitors:
            assert "secret meeting" not in user.lower()
        gone = re.findall(r"(a\d) \((Traitor|Faithful|murdered, role unknown)\)", user)
        for player, shown in gone:
            if shown != "murdered, role unknown":
                assert shown.lower() == roles[player].lower()
    assert any("murdered, role unknown" in r.messages[-1]["content"] for r in recorder.requests)
    meeting = [r for r in recorder.requests if r.key.agent in traitors
               and "In the secret meeting," in r.messages[-1]["content"]]
    assert meeting, "traitors remember the meeting"


@pytest.mark.parametrize(("name", "size"), [("werewolf", 8), ("traitors", 10)])
def test_scripted_games_never_render_a_question_template(tmp_path, monkeypatch, name, size):
    rendered: list[str] = []
    original = Prompts.render

    def spy(self, verb, **values):
        rendered.append(f"{os.path.basename(os.path.dirname(self.folder))}/{verb}")
        return original(self, verb, **values)

    monkeypatch.setattr(Prompts, "render", spy)
    from societas.scenarios.traitors.questions import role_text as traitor_role
    from societas.scenarios.traitors.questions import rules_text as traitor_rules
    from societas.scenarios.werewolf.questions import role_text, rules_text
    for cached in (role_text, rules_text, traitor_role, traitor_rules):
        cached.cache_clear()
    simulator.run({"scenario": {"name": name}, "population": {"size": size,
                                                            "strategy": "heuristic"},
                   "simulations": 4, "out_dir": str(tmp_path), "progress": False})
    assert rendered and {r.split("/")[1] for r in rendered} <= {"rules", "role"}

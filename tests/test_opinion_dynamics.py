"""LLM opinion dynamics (Chuang et al.) on the scripted backend and with a recording model."""

from __future__ import annotations

from functools import partial

import numpy as np
import polars as pl
import pytest

from societas import simulator
from societas.analysis import calls, events, fields
from societas.analysis.opinion import states, summary
from societas.simulator.backends import ScriptedBackend, register_backend
from tests.conftest import small_run_config

config = partial(small_run_config, "opinion_dynamics")


class Recorder:
    """A stand-in model: records each request and answers with a seeded valid answer."""

    def __init__(self) -> None:
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        rng = np.random.Generator(np.random.PCG64(request.seed))
        return request.question.encode(request.question.sample(rng))


def recorded_run(tmp_path, name: str, **overrides):
    recorder = Recorder()
    register_backend(name, lambda cfg, **_: ScriptedBackend(recorder))
    result = simulator.run(config(tmp_path, backend={"name": name}, **overrides))
    return recorder, result


def test_a_dyad_changes_only_the_listener(tmp_path):
    result = simulator.run(config(tmp_path))
    ev = events(result.run_dir)
    posted = ev.filter(pl.col("kind") == "posted").collect()
    reported = fields(ev.filter(pl.col("kind") == "reported"), opinion=pl.Float64,
                      previous=pl.Float64).collect()
    assert posted.height == reported.height == 20
    assert (posted["target"] == reported["actor"]).all()  # the listener reports
    assert (posted["actor"] != posted["target"]).all()
    panel = states(ev)
    for step in range(1, 21):
        before = panel.filter(pl.col("step") == step - 1).sort("actor")["opinion"]
        after = panel.filter(pl.col("step") == step).sort("actor")["opinion"]
        changed = set(panel.filter(pl.col("step") == step).sort("actor")["actor"]
                      .filter(before != after))
        listener = reported.filter(pl.col("step") == step)["actor"].to_list()
        assert changed <= set(listener)


def test_initial_opinions_are_spread_two_per_level(tmp_path):
    result = simulator.run(config(tmp_path, scenario={"steps": 1}))
    start = fields(events(result.run_dir).filter((pl.col("kind") == "surveyed")
                                                 & (pl.col("step") == 0)), opinion=pl.Float64)
    assert sorted(start.collect()["opinion"].to_list()) == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2]


def test_degroot_round_on_a_complete_graph_converges(tmp_path):
    result = simulator.run(config(tmp_path, scenario={"exchange": "round", "feed": 0,
                                                      "steps": 30},
                                  population={"params": {"rounding": "nearest"}},
                                  graph={"name": "complete"}))
    s = summary(events(result.run_dir))
    assert s["initial diversity (ddof 0)"] > 1.4 and s["final diversity (ddof 0)"] == 0.0
    assert s["time to consensus"] is not None


def test_stubborn_agents_never_move(tmp_path):
    result = simulator.run(config(tmp_path, population={"strategy": "stubborn"}))
    reported = fields(events(result.run_dir).filter(pl.col("kind") == "reported"),
                      opinion=pl.Float64, previous=pl.Float64).collect()
    assert (reported["opinion"] == reported["previous"]).all()


@pytest.mark.parametrize(("bias", "sentence"), [
    ("none", None),
    ("weak", "like humans, you have confirmation bias"),
    ("strong", "you have strong confirmation bias"),
])
def test_prompts_carry_claim_closed_world_and_confirmation_bias(tmp_path, bias, sentence):
    recorder, _ = recorded_run(tmp_path, f"rec_{bias}", population={"strategy": "random"},
                               scenario={"confirmation_bias": bias, "topic": "sky",
                                         "framing": "true", "steps": 5})
    systems = {r.messages[0]["content"] for r in recorder.requests}
    assert len(systems) == 1  # one byte-identical briefing for every agent
    system = systems.pop()
    assert "Theory XYZ, which claims that on a clear sunny day, the sky is usually blue" in system
    assert "you are alone in your room" in system
    assert ("confirmation bias" in system) == (sentence is not None)
    if sentence:
        assert sentence in system


def test_reports_are_constrained_to_the_scale_and_read_the_post(tmp_path):
    recorder, result = recorded_run(tmp_path, "rec_reports", population={"strategy": "random"})
    reports = [r for r in recorder.requests if r.question.name == "report"]
    posts = {(r.key.sim, r.key.step): r for r in recorder.requests if r.question.name == "post"}
    assert len(reports) == 20
    for request in reports:
        schema = request.question.constraint().json_schema
        assert schema["properties"]["answer"]["enum"] == ["-2", "-1", "0", "1", "2"]
        assert list(schema["properties"]) == ["reasoning", "answer"]
        heard = request.question.view.heard[0]
        assert f'"{heard.text}"' in request.messages[-1]["content"]
        assert (request.key.sim, request.key.step) in posts
    log = calls(result.run_dir).collect()
    answers = log.filter(pl.col("question") == "report")["answer"].str.strip_chars('"')
    answers = answers.cast(pl.Int64)
    assert answers.is_between(-2, 2).all()


def test_cumulative_memory_remembers_posts_and_reports(tmp_path):
    recorder, _ = recorded_run(tmp_path, "rec_memory", population={"strategy": "random",
                                                                   "memory": 100})
    last = recorder.requests[-1].messages[-1]["content"]
    assert "What you remember:" in last and ("You posted:" in last or "You read a post" in last)


def test_reflective_memory_asks_for_reflections_and_shows_them(tmp_path):
    recorder, result = recorded_run(tmp_path, "rec_reflect", population={"strategy": "random"},
                                    scenario={"memory": "reflective", "steps": 10})
    reflections = [r for r in recorder.requests if r.question.name == "reflect"]
    assert len(reflections) == 20  # speaker and listener after every dyad
    assert all("What you remember" not in r.messages[-1]["content"] for r in recorder.requests)
    shown = [r for r in recorder.requests if r.question.name in ("post", "report")
             and r.question.view.reflection]
    assert shown and all("Your reflection on your experience so far" in r.messages[-1]["content"]
                         for r in shown)
    kinds = events(result.run_dir).group_by("kind").len().collect()
    assert dict(kinds.iter_rows())["reflected"] == 20


def test_mixed_population_model_and_classical_agents_share_the_graph(tmp_path):
    recorder, result = recorded_run(
        tmp_path, "rec_mixed", scenario={"exchange": "round", "steps": 3},
        population={"size": 12, "groups": [{"count": 6, "strategy": "degroot"}, {"count": 6}]},
        graph={"name": "watts_strogatz", "k": 4, "p": 0.2})
    asked = {r.key.agent for r in recorder.requests}
    assert len(asked) == 6  # only the model agents reach the model backend
    log = calls(result.run_dir).collect()
    assert set(log["policy"]) == {"model", "degroot"}
    assert log.filter(pl.col("question") == "report").height == 36


def test_a_10k_agent_round_goes_through_the_batched_engine(tmp_path):
    result = simulator.run(config(
        tmp_path, scenario={"exchange": "round", "steps": 1, "log_edges": False},
        population={"size": 10_000, "memory": 2}, graph={"name": "barabasi_albert", "m": 3}))
    assert result.counters.decisions == 20_000
    assert max(result.batch_sizes["scripted"]) == 4096  # full batches, not one call per agent


def test_unknown_topic_and_off_scale_initial_are_config_errors(tmp_path):
    with pytest.raises(simulator.ConfigError, match="scenario: Value error, unknown topic"):
        simulator.run(config(tmp_path, scenario={"topic": "tides"}))
    with pytest.raises(simulator.ConfigError, match=r"initial values \[3\.0\] are not integers"):
        simulator.run(config(tmp_path, scenario={"initial": {"kind": "given", "values": [3]}}))


def test_importing_the_opinion_scenarios_stays_light():
    import subprocess
    import sys

    code = ("import sys, societas.simulator.graph, societas.scenarios.opinion, "
            "societas.scenarios.debate; "
            "print([m for m in ('polars', 'scipy', 'ray', 'vllm', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Replay, resume after a kill, fork and the timeline viewer."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from societas import simulator
from societas.analysis import events
from societas.analysis.timeline import describers, timeline
from societas.simulator import ReplayDivergence, content_hash
from societas.simulator._log import LOG_FORMAT, UnsupportedLogFormat
from societas.simulator.backends import ScriptedBackend, register_backend
from societas.simulator.cli import main
from tests.conftest import small_run_config

donor_config = partial(small_run_config, "donor_game")

SOCIETAS = str(Path(sys.executable).with_name("societas"))
KILL_RUN = ["scenario=donor_game", "backend=scripted", "seed=5", "simulations=16",
            "scenario.generations=6", "chunk_rows=40", "progress=false"]


def start(tmp_path: Path, run_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([SOCIETAS, "run", *KILL_RUN, f"out_dir={tmp_path}",
                             f"run_id={run_id}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def wait_for_chunks(run_dir: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while len(list((run_dir / "calls").glob("part-*.parquet"))) < count:
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline, "the run wrote no chunks"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    done = subprocess.run([SOCIETAS, "run", *KILL_RUN, f"out_dir={out}", "run_id=reference"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out / "reference"


@pytest.mark.parametrize("chunks", [1, 4, 9, int(np.random.default_rng(2026).integers(10, 40))])
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, reference, chunks):
    process = start(tmp_path, "victim")
    run_dir = tmp_path / "victim"
    wait_for_chunks(run_dir, chunks, process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert simulator.read_manifest(run_dir)["status"] == "running"  # killed: no chance to say
    events_before = len(list((run_dir / "events").glob("part-*.parquet")))

    result = simulator.resume(run_dir)
    assert result is not None
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "completed"
    assert manifest["resumes"][0]["status_before"] == "running"
    assert manifest["counts"]["replayed"] > 0  # the recorded part came from the log
    assert len(list((run_dir / "events").glob("part-*.parquet"))) > events_before
    logged = events(run_dir).select("sim", "seq").collect()
    assert logged.height == logged.unique().height  # nothing written twice
    assert content_hash(run_dir) == content_hash(reference)
    assert content_hash(run_dir, "calls") == content_hash(reference, "calls")


def test_ctrl_c_marks_the_run_interrupted_and_resume_completes_it(tmp_path, reference):
    process = start(tmp_path, "interrupted")
    run_dir = tmp_path / "interrupted"
    wait_for_chunks(run_dir, 3, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert simulator.read_manifest(run_dir)["status"] == "interrupted"
    assert main(["resume", str(run_dir)]) == 0
    assert content_hash(run_dir) == content_hash(reference)
    assert main(["resume", str(run_dir)]) == 0  # a completed run: nothing to do


def test_replay_of_a_run_is_identical_and_needs_no_model(tmp_path, capsys):
    recorder = Recorder()
    register_backend("recorder", lambda cfg, **_: ScriptedBackend(recorder))
    run = simulator.run(donor_config(tmp_path, backend={"name": "recorder"}, simulations=4))
    assert recorder.calls > 0
    register_backend("recorder", lambda cfg, **_: pytest.fail("replay built a model backend"))
    report = simulator.replay(run.run_dir)
    assert report.identical and report.calls_identical
    assert report.recorded_hash == content_hash(run.run_dir)
    assert main(["replay", str(run.run_dir)]) == 0
    assert "event log identical" in capsys.readouterr().out


def test_changed_prompt_template_stops_replay_at_the_first_divergent_request(tmp_path,
                                                                             monkeypatch):
    register_backend("recorder", lambda cfg, **_: ScriptedBackend(Recorder()))
    run = simulator.run(donor_config(tmp_path, backend={"name": "recorder"}, simulations=2))
    from societas.scenarios.donor_game import rules

    render = rules.PROMPTS.render
    monkeypatch.setattr(rules.PROMPTS, "render", lambda verb, **values: render(
        verb, **values).replace("How many units do you give up?", "How many coins do you keep?"))
    with pytest.raises(ReplayDivergence) as caught:
        simulator.replay(run.run_dir)
    message = str(caught.value)
    first_donor = first_call(run.run_dir, "donate")
    assert f"simulation 0, agent {first_donor!r}, step 2, question #0 ('donate')" in message
    assert "-How many units do you give up?" in message
    assert "+How many coins do you keep?" in message


def test_fork_shares_history_before_the_step_and_diverges_after(tmp_path):
    parent = simulator.run(donor_config(tmp_path, run_id="parent", simulations=3))
    at = 3
    child = simulator.fork(parent.run_dir, at=at, overrides=["population.strategy=always_all"],
                           run_id="child")
    manifest = simulator.read_manifest(child.run_dir)
    assert manifest["parent"] == {"run_id": "parent", "run_dir": str(parent.run_dir),
                                  "fork_step": at,
                                  "overrides": ["population.strategy=always_all"]}
    assert manifest["config"]["population"]["strategy"] == "always_all"
    before, after = split(parent.run_dir, at), split(child.run_dir, at)
    assert before[0].equals(after[0]) and before[0].height > 0
    assert not before[1].equals(after[1])
    moves = after[1].filter(pl.col("kind") == "donated")
    assert moves["data"].str.contains('"fraction":1.0').all()  # always_all from step 3 on


def test_fork_with_another_temperature_changes_only_later_answers(tmp_path):
    register_backend("tempered", lambda cfg, **_: ScriptedBackend(tempered))
    parent = simulator.run(donor_config(tmp_path, run_id="hot", backend={"name": "tempered"}))
    child = simulator.fork(parent.run_dir, at=5, overrides=["backend.temperature=0.1"],
                           run_id="cold")
    before, after = split(parent.run_dir, 5), split(child.run_dir, 5)
    assert before[0].equals(after[0])
    assert not before[1].equals(after[1])


def test_an_intervention_forces_one_answer(tmp_path):
    parent = simulator.run(donor_config(tmp_path, run_id="base",
                                        population={"strategy": "always_all"}))
    donor = first_call(parent.run_dir, "donate")
    child = simulator.fork(parent.run_dir, at=2, run_id="intervened", overrides=[
        f"+interventions=[{{agent: {donor}, step: 2, question: donate, answer: 0}}]"])
    moves = events(child.run_dir).filter((pl.col("kind") == "donated") & (pl.col("step") == 2))
    fractions = dict(moves.select("actor", pl.col("data").str.json_path_match("$.fraction"))
                     .collect().iter_rows())
    assert float(fractions.pop(donor)) == 0.0
    assert {float(f) for f in fractions.values()} == {1.0}


def test_view_prints_a_timeline_filtered_by_agent_and_exports_html(tmp_path, capsys):
    run = simulator.run(donor_config(tmp_path, population={"strategy": "always_all"}))
    entries = list(timeline(run.run_dir, agent="a03", last_step=4))
    assert entries and all("a03" in e.text for e in entries)
    assert any(e.kind == "donated" and "gives 10.00 (100%)" in e.text for e in entries)
    assert main(["view", str(run.run_dir), "--to", "2", "--no-pager"]) == 0
    out = capsys.readouterr().out
    assert "step 2 · donate" in out and "(generation 1) will play" in out
    html = tmp_path / "timeline.html"
    assert main(["view", str(run.run_dir), "--agent", "a03", "--html", str(html)]) == 0
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "a03" in page and "http" not in page


@pytest.mark.parametrize("operation", ["replay", "resume", "fork"])
def test_replay_resume_and_fork_refuse_a_newer_log_format(tmp_path, operation):
    run = simulator.run(donor_config(tmp_path, run_id="newer"))
    set_manifest(run.run_dir, status="interrupted", log_format=LOG_FORMAT + 1)
    if operation == "replay":
        set_manifest(run.run_dir, status="completed")
    act = {"replay": simulator.replay, "resume": simulator.resume,
           "fork": lambda run_dir: simulator.fork(run_dir, at=2, run_id="child")}[operation]
    with pytest.raises(UnsupportedLogFormat, match=rf"newer is in log format {LOG_FORMAT + 1}, "
                                                   r".*upgrade societas"):
        act(run.run_dir)
    assert not (tmp_path / "child").exists()


def test_a_run_logged_before_log_formats_replays_and_resumes_as_format_1(tmp_path):
    run = simulator.run(donor_config(tmp_path, run_id="old", simulations=3))
    events_hash, calls_hash = content_hash(run.run_dir), content_hash(run.run_dir, "calls")
    set_manifest(run.run_dir, log_format=None)  # a manifest written before formats were numbered
    assert simulator.replay(run.run_dir).identical
    set_manifest(run.run_dir, status="interrupted")
    assert simulator.resume(run.run_dir) is not None
    manifest = simulator.read_manifest(run.run_dir)
    assert manifest["status"] == "completed" and manifest["log_format"] == 1
    assert content_hash(run.run_dir) == events_hash  # every row verified, none written again
    assert content_hash(run.run_dir, "calls") == calls_hash
    assert manifest["counts"]["event_rows"] == run.counters.events


def test_first_difference_names_the_first_event_that_differs(tmp_path):
    from societas.simulator._replay import first_difference

    one = simulator.run(donor_config(tmp_path, run_id="one", simulations=1))
    two = simulator.run(donor_config(tmp_path, run_id="two", simulations=2))
    other = simulator.run(donor_config(tmp_path, run_id="other", simulations=1, seed=8))
    assert first_difference(one.run_dir, one.run_dir) is None
    assert first_difference(one.run_dir, two.run_dir).startswith(
        "simulation 1, event #0: (missing) vs step 1 strategy strategy_chosen a00→None {")
    difference = first_difference(one.run_dir, other.run_dir)
    assert difference.startswith("simulation 0, event #") and " vs step " in difference


def test_resume_stops_when_an_event_on_disk_differs_from_re_execution(tmp_path):
    import pyarrow.parquet as pq

    run = simulator.run(donor_config(tmp_path, run_id="tampered", simulations=2))
    # without its chunk record (as before chunks were recorded), or resume refuses the chunk
    set_manifest(run.run_dir, status="interrupted", chunks=None)
    chunk = run.run_dir / "events" / "part-00000.parquet"
    table = pq.read_table(chunk)
    data = table.column("data").to_pylist()
    data[0] = '{"tampered":true}'
    pq.write_table(table.set_column(table.schema.get_field_index("data"),
                                    table.schema.field("data"), [data]), chunk)
    kind, step = table.column("kind")[0].as_py(), table.column("step")[0].as_py()
    with pytest.raises(ReplayDivergence, match=(
            rf"resume diverged: event #0 of simulation 0 \(step {step}\) was recorded as {kind!r} "
            rf'\{{"tampered":true\}} but re-executing gives {kind!r} \{{')):
        simulator.resume(run.run_dir)


# -- helpers ---------------------------------------------------------------------------------------
def set_manifest(run_dir: Path, **changes) -> None:
    """Change manifest fields in place (None removes one)."""
    path = run_dir / "manifest.json"
    manifest = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in manifest.items() if v is not None}))


class Recorder:
    """A stand-in model: answers with the fallback, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request):
        self.calls += 1
        question = request.question
        return question.encode(question.fallback_answer(np.random.default_rng(request.seed)))


def tempered(request):
    """Donate a share that depends on the seed and the temperature."""
    question = request.question
    if question.name != "donate":
        return question.encode(question.fallback)
    share = (request.seed % 1000) / 1000 * min(request.sampling.temperature, 1.0)
    return json.dumps({"reasoning": "", "answer": share * question.high})


def split(run_dir, step: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = (events(run_dir).drop("run_id", "wall_time").sort("sim", "seq").collect())
    return frame.filter(pl.col("step") < step), frame.filter(pl.col("step") >= step)


def first_call(run_dir, question: str) -> str:
    calls = simulator.read_table(run_dir, "calls").to_pydict()
    rows = sorted((s, st, a) for s, st, a, q in zip(calls["sim"], calls["step"], calls["agent"],
                                                    calls["question"], strict=True)
                  if q == question)
    return rows[0][2]


def test_analysis_compares_a_fork_with_its_parent(tmp_path):
    from societas.analysis.lineage import compare, describe_lineage, first_divergent_step, parent_of

    parent = simulator.run(donor_config(tmp_path, run_id="p", simulations=2))
    child = simulator.fork(parent.run_dir, at=4, run_id="c",
                           overrides=["population.strategy=always_zero"])
    assert parent_of(child.run_dir) == parent.run_dir and parent_of(parent.run_dir) is None
    table = compare(parent.run_dir, child.run_dir)
    assert table.filter(pl.col("step") < 4)["same"].all()
    assert first_divergent_step(parent.run_dir, child.run_dir) == 4
    assert first_divergent_step(parent.run_dir, parent.run_dir) is None
    assert describe_lineage(child.run_dir).startswith("c (fork at step 4")


@pytest.mark.parametrize(("scenario", "size", "expected"), [
    ("werewolf", 8, ["learns that", "Moderator:", "votes to exile", "bids:"]),
    ("traitors", 10, ["the round table banishes", "(secret meeting, proposal)", "votes to murder"]),
])
def test_view_describes_social_deduction_games(tmp_path, scenario, size, expected):
    run = simulator.run({"scenario": {"name": scenario}, "population": {"size": size},
                         "out_dir": str(tmp_path), "progress": False, "seed": 3})
    entries = list(timeline(run.run_dir))
    text = "\n".join(e.text for e in entries)
    for phrase in expected:
        assert phrase in text
    described = describers(scenario)
    assert {e.kind for e in entries} <= set(described)  # no kind falls back to the generic form

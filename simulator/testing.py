"""The scenario contract, as a check any scenario (ours or a user's) can run in its tests.

A test suite calls ``simulator.testing.check_scenario("my_scenario", tmp_path)``; the scenario's
``smoke`` metadata sizes the run.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from societas.simulator._events import Event, Outcome
from societas.simulator._registry import get_scenario
from societas.simulator._rows import CallRow, EventRow, call_key, event_key
from societas.simulator._scenario import Scenario
from societas.simulator.backends import ScriptedBackend

JUNK_MODEL = "openai"
"""The backend the junk run names: any registered model backend makes every agent
model-answered. It is never built: `check_scenario` hands the run its own junk instance."""


def smoke_config(name: str, out_dir: str | os.PathLike[str], **overrides: Any) -> dict[str, Any]:
    """A small run of scenario `name` on the scripted backend, from its `smoke` metadata."""
    config: dict[str, Any] = {"out_dir": str(out_dir), "progress": False, "simulations": 3,
                              "seed": 11, **copy.deepcopy(get_scenario(name).smoke)}
    config["scenario"] = {"name": name, **config.get("scenario", {})}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def junk_backend() -> ScriptedBackend:
    """A backend answering every request with garbage (``"¿"``), to exercise fallbacks."""
    return ScriptedBackend(lambda request: "¿")


def check_scenario(name: str, out_dir: str | os.PathLike[str]) -> None:
    """Run scenario `name` small and check the engine's promises about it; raises AssertionError.

    * it terminates and every simulation logs an outcome as its last event;
    * events are well formed: sequence numbers 0..n-1 per simulation, and each event's data is
      valid for the event class of its kind, among those the scenario declares
      (`Scenario.events`);
    * no event or call lies beyond the scenario's step bound (`Scenario.max_steps`, when it
      gives one);
    * every question asked is among those the scenario declares (`Scenario.questions`);
    * an agent an event takes out of play (`Event.removes`) is never asked anything afterwards;
    * the same seed gives identical event and call logs, whatever the concurrency (every
      simulation at once, then two at a time), and a different seed a different event log;
    * replaying the recorded answers gives identical event and call logs;
    * when every answer is malformed, it still finishes on its fallbacks, each one counted.

    The scenario's ``smoke`` metadata sizes the runs (and picks a graph if it needs one); they
    are written under `out_dir`. The malformed answers come from a backend instance passed to
    that one run: the global backend registry is left as it was.
    """
    from societas.simulator._log import content_hash, read_rows
    from societas.simulator._replay import replay
    from societas.simulator._run import run
    from societas.simulator._setup import plan_run

    out = Path(out_dir)
    config = smoke_config(name, out, run_id="first")
    plan = plan_run(config)
    first = run(config)
    again = run(smoke_config(name, out, run_id="again", concurrency=2))
    other = run(smoke_config(name, out, run_id="other", seed=12))
    events = sorted(read_rows(first.run_dir, EventRow), key=event_key)
    calls = sorted(read_rows(first.run_dir, CallRow), key=call_key)
    scenario = plan.scenario_cls
    _check_sequences(name, events, first.counters.simulations)
    typed = check_event_data(scenario, events)
    check_questions(scenario, calls)
    check_step_bound(name, scenario.max_steps(plan.scenario_config, plan.config), events, calls)
    check_removed_not_asked(name, events, typed, calls)
    assert content_hash(first.run_dir) == content_hash(again.run_dir), \
        f"{name}: the same seed gave different event logs (concurrency all, then 2)"
    assert content_hash(first.run_dir, "calls") == content_hash(again.run_dir, "calls"), \
        f"{name}: the same seed gave different calls logs (concurrency all, then 2)"
    assert content_hash(first.run_dir) != content_hash(other.run_dir), \
        f"{name}: seeds 11 and 12 gave the same event log"
    report = replay(first.run_dir)
    assert report.identical, f"{name}: replay differs: {report.first_difference}"
    assert report.calls_identical, f"{name}: replay gave a different calls log"

    junk = run(smoke_config(name, out, run_id="junk", max_attempts=2, simulations=1,
                            max_fallback_share=1.0,  # every answer is a fallback on purpose
                            backend={"name": JUNK_MODEL},
                            population={"strategy": "random", "groups": []}),
               model_backend=junk_backend())
    counters = junk.counters  # a scenario that asks nothing (a classical model) passes trivially
    assert counters.decisions == 0, f"{name}: {counters.decisions} junk answers were accepted"
    assert counters.parse_failures == counters.requests == 2 * counters.fallbacks, \
        f"{name}: malformed answers were not all retried once and then replaced by fallbacks"


def _check_sequences(name: str, events: list[EventRow], simulations: int) -> None:
    by_sim: dict[int, list[tuple[int, str]]] = {}
    for row in events:
        by_sim.setdefault(row.sim, []).append((row.seq, row.kind))
    assert sorted(by_sim) == list(range(simulations)), f"{name}: simulations missing from the log"
    for sim, rows in by_sim.items():
        rows.sort()
        assert [seq for seq, _ in rows] == list(range(len(rows))), \
            f"{name}: simulation {sim} has gaps or duplicates in its event sequence"
        assert rows[-1][1] == "outcome", f"{name}: simulation {sim} did not end with its outcome"


def _where(row: EventRow) -> str:
    return f"simulation {row.sim}, event {row.seq} ({row.kind!r} at step {row.step})"


def check_event_data(scenario: type[Scenario], events: Iterable[EventRow]) -> list[Event]:
    """Each logged event rebuilt as its class (by kind, among `Scenario.events`), in order.

    Fails naming the first event whose kind the scenario does not declare or whose data does
    not validate against its class.
    """
    classes: dict[str, type[Event]] = {Outcome.kind: Outcome}
    for cls in scenario.events:
        assert classes.get(cls.kind, cls) is cls, \
            f"{scenario.name}: {cls.__name__} and {classes[cls.kind].__name__} share kind " \
            f"{cls.kind!r}"
        classes[cls.kind] = cls
    typed: list[Event] = []
    for row in events:
        cls = classes.get(row.kind)
        assert cls is not None, f"{scenario.name}: {_where(row)}: kind {row.kind!r} is not " \
            f"among the scenario's declared events ({', '.join(sorted(classes))})"
        fields = {**json.loads(row.data), "actor": row.actor, "target": row.target}
        try:
            typed.append(cls.model_validate_json(json.dumps(fields)))
        except ValidationError as err:
            raise AssertionError(f"{scenario.name}: {_where(row)}: its data {row.data} is not a "
                                 f"valid {cls.__name__}: {err}") from err
    return typed


def check_questions(scenario: type[Scenario], calls: Iterable[CallRow]) -> None:
    """Every question asked is among those the scenario declares (`Scenario.questions`)."""
    for call in calls:
        assert call.question in scenario.questions, \
            f"{scenario.name}: simulation {call.sim} asked {call.agent} {call.question!r} at " \
            f"step {call.step}, not among its declared questions " \
            f"({', '.join(sorted(scenario.questions)) or 'none'})"


def check_step_bound(name: str, bound: int | None, events: Iterable[EventRow],
                     calls: Iterable[CallRow]) -> None:
    """No event or call lies beyond `bound` steps (`Scenario.max_steps`); None bounds nothing."""
    if bound is None:
        return
    for row in events:
        assert row.step <= bound, f"{name}: {_where(row)} lies beyond max_steps={bound}"
    for call in calls:
        assert call.step <= bound, f"{name}: simulation {call.sim} asked {call.agent} " \
            f"{call.question!r} at step {call.step}, beyond max_steps={bound}"


def check_removed_not_asked(name: str, events: list[EventRow], typed: list[Event],
                            calls: Iterable[CallRow]) -> None:
    """No agent is asked anything after an event took it out of play (`Event.removes`).

    A call at a later step than the removing event is after it; one at the same step is after
    it when it was logged later (wall time: the engine logs a call when it is answered, an
    event when it is emitted).
    """
    removed: dict[tuple[int, str], EventRow] = {}
    for row, event in sorted(zip(events, typed, strict=True), key=lambda pair: event_key(pair[0])):
        for agent in event.removes():
            removed.setdefault((row.sim, agent), row)
    for call in calls:
        row = removed.get((call.sim, call.agent))
        if row is None:
            continue
        after = call.step > row.step or (call.step == row.step and call.wall_time > row.wall_time)
        assert not after, f"{name}: simulation {call.sim} asked {call.agent} " \
            f"{call.question!r} at step {call.step}, after {_where(row)} took it out of play"

"""The README's examples run as written."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest

from societas import simulator
from societas.simulator import read_table
from tests._plugins import install, societas

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
EXTENDING = README[README.index("## Extending Societas"):README.index("\n## Layout")]


def test_the_extension_example_runs_from_python(tmp_path, monkeypatch, my_lab):
    monkeypatch.chdir(tmp_path)
    usage = blocks(EXTENDING, "python")[1]
    namespace: dict = {}
    exec(compile(usage, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    # A third of the pie (3 of 10) meets `least=0.3`: every offer stands, and over three rounds
    # each player proposes once (keeps 4) and responds twice (gets 3 each time).
    assert [o.model_dump(exclude={"actor", "target"}) for o in result.outcomes] == \
        [{"a0": 10, "a1": 10, "a2": 10}] * 4
    assert result.counters.decisions == 4 * 3 * 3 and result.counters.fallbacks == 0
    assert (tmp_path / "checks").is_dir()  # check_scenario ran its small runs there


def test_the_extension_example_runs_from_the_command_line(tmp_path, my_lab):
    entry_points = tomllib.loads(blocks(EXTENDING, "toml")[0])["project"]["entry-points"]
    install(my_lab, "my-lab", entry_points, {})
    commands = blocks(EXTENDING, "bash")[0].replace("\\\n", " ").splitlines()
    run_line = next(line for line in commands if line.startswith("societas run"))
    run = societas(*shlex.split(run_line)[1:], "run_id=cli", cwd=tmp_path, plugins=my_lab)
    assert run.returncode == 0, run.stderr
    replay_line = next(line for line in commands if line.startswith("societas replay"))
    replayed = societas(*shlex.split(replay_line.replace("<run_id>", "cli"))[1:],
                        cwd=tmp_path, plugins=my_lab)
    assert replayed.returncode == 0 and "identical" in replayed.stdout, replayed.stdout
    events = read_table(tmp_path / "runs" / "cli").to_pydict()
    paid = [json.loads(data)["coins"]
            for kind, data in zip(events["kind"], events["data"], strict=True) if kind == "paid"]
    assert sum(paid) == 4 * 3 * 10  # four games of three rounds, every pie shared out


def test_the_backend_example_answers_as_a_model_would(tmp_path, monkeypatch, my_lab):
    from my_lab.ultimatum import Ultimatum

    from societas.simulator import _registry
    from societas.simulator.scenario import register_scenario

    monkeypatch.chdir(tmp_path)
    register_scenario(Ultimatum)
    exec(compile(blocks(EXTENDING, "python")[2], "README.md", "exec"), {})  # noqa: S102
    try:
        result = simulator.run({"scenario": {"name": "ultimatum"}, "population": {"size": 3},
                                "backend": {"name": "stubborn"}, "progress": False})
    finally:
        _registry._BACKENDS.pop("stubborn")
    kinds = read_table(result.run_dir).column("kind").to_pylist()
    assert kinds.count("responded") == 3 * 2 and "paid" not in kinds
    calls = read_table(result.run_dir, "calls").to_pydict()
    assert set(calls["policy"]) == {"model"} and set(calls["backend"]) == {"scripted"}
    assert result.counters.fallbacks == 0 and all(calls["messages"])


@pytest.fixture
def my_lab(tmp_path, monkeypatch):
    """The README's `my_lab` package under ``tmp_path/lab``, importable; forgotten afterwards."""
    from societas.simulator import _registry

    lab = tmp_path / "lab"
    (lab / "my_lab").mkdir(parents=True)
    (lab / "my_lab" / "__init__.py").write_text("")
    (lab / "my_lab" / "ultimatum.py").write_text(blocks(EXTENDING, "python")[0])
    monkeypatch.syspath_prepend(str(lab))
    importlib.invalidate_caches()
    yield lab
    for module in [m for m in sys.modules if m == "my_lab" or m.startswith("my_lab.")]:
        del sys.modules[module]
    _registry._SCENARIOS.pop("ultimatum", None)
    _registry._STRATEGIES.pop("fair_minded", None)


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of one language in `text`, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)

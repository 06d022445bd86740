"""One owner of Hydra composition: run, sweep and fork compose alike; registered names select."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import ClassVar

import pytest

from societas.agents import Agent
from societas.simulator import ConfigError, _registry, read_table, run
from societas.simulator._compose import (
    CONFIG_MODULE,
    HYDRA_VERSION,
    _JobComposer,
    compose_config,
    compose_sweep,
    config_groups,
    group_option,
    shipped_options,
)
from societas.simulator._overrides import apply_overrides
from societas.simulator.backends import ScriptedBackend, register_backend
from societas.simulator.scenario import Choice, Event, Scenario, Sim, register_scenario
from tests._plugins import coin_plugin_installed, societas

ROOT = Path(__file__).resolve().parents[1]


def public_compose(overrides: list[str]) -> dict:
    """Hydra's public API only: what `compose_config` must equal."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=overrides),
                                      resolve=True)


# -- the private Hydra APIs still do what compose() does -------------------------------------------
def test_the_installed_hydra_is_the_version_the_private_calls_were_checked_against():
    import hydra

    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"hydra-core=={HYDRA_VERSION}" in pins, (
        "pyproject.toml pins another hydra-core: re-check every private Hydra call in "
        "simulator/_compose.py against it (this file's tests), then update HYDRA_VERSION")
    assert hydra.__version__ == HYDRA_VERSION


SWEEPS = [
    ["scenario=donor_game", "seed=1,2", "population.size=10,12", "+scenario.extra=x"],
    ["scenario=werewolf,traitors", "seed=0,1"],  # global-package scenarios pick a population
    ["backend=scripted,vllm,ray_replicas", "backend.temperature=0.1,0.9"],
    ["graph=watts_strogatz,complete", "population=werewolf", "scenario=debate"],
    ["~graph", "population=default,traitors", "population.memory=3"],
    ["backend={name: scripted, max_batch: 3},{name: scripted, max_batch: 5}"],  # dicts: values
    ["scenario=donor_game", "scenario.generations=2", "scenario.multiplier=choice(1.5,3)",
     "++seed=9"],
]


@pytest.mark.parametrize("overrides", SWEEPS, ids=[" ".join(s)[:40] for s in SWEEPS])
def test_the_cached_per_job_composition_equals_public_compose(overrides):
    jobs = compose_sweep(overrides)
    assert len(jobs) > 1
    for job in jobs:
        assert job.config == public_compose(list(job.overrides)), job.overrides


def test_the_job_composer_composes_the_defaults_list_once_per_group_choice():
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        parser = OverridesParser.create(config_loader=loader)
        composer = _JobComposer(loader)
        for backend in ("scripted", "vllm"):
            for seed in range(3):
                job = [parser.parse_override(o) for o in (f"backend={backend}", f"seed={seed}")]
                assert composer.compose(job)["seed"] == seed
        assert len(composer._trees) == 2  # the cache, not a compose() per job


def test_run_sweep_and_fork_share_one_composer(tmp_path):
    assert compose_config(["seed=4"]) == public_compose(["seed=4"])
    assert group_option("backend", "vllm") == public_compose(["backend=vllm"])["backend"]
    assert config_groups() == ("backend", "graph", "population", "scenario")
    forked = apply_overrides(compose_config(), ["backend=vllm", "seed=2"])
    assert forked["backend"] == public_compose(["backend=vllm"])["backend"]
    assert forked["seed"] == 2


def test_the_config_module_and_hydra_live_in_one_module():
    uses = {}
    for path in (ROOT / "simulator").rglob("*.py"):
        text = path.read_text()
        for pattern in (CONFIG_MODULE, "hydra._internal", "from hydra import"):
            if pattern in text:
                uses.setdefault(pattern, set()).add(path.name)
    assert uses == {p: {"_compose.py"} for p in (CONFIG_MODULE, "hydra._internal",
                                                 "from hydra import")}


def test_hydra_errors_are_one_line_naming_the_key():
    for overrides, message in [(["backend=gpt5"], "backend: unknown option 'gpt5'; available: "),
                               (["population.sizee=1"], "population.sizee: unknown key"),
                               (["seed=range(2"], "seed=range(2")]:
        with pytest.raises(ConfigError) as caught:
            compose_config(overrides)
        assert message in str(caught.value) and "\n" not in str(caught.value)


# -- registered components are selectable by name, with no YAML ------------------------------------
class Called(Event):
    kind: ClassVar[str] = "called"
    side: str


class Toss(Scenario):
    """Every agent calls heads or tails once."""

    name = "toss_for_test"
    make_agent = staticmethod(Agent.from_spec)
    events = (Called,)
    questions = frozenset({"call"})

    async def run(self, sim: Sim) -> dict[str, int]:
        sim.advance("call")
        calls = await sim.ask_all({a: Choice(name="call", prompt="Heads or tails?",
                                             options=["heads", "tails"]) for a in sim.agents})
        for agent, side in calls.items():
            sim.emit(Called(actor=agent, side=side))
        return {"heads": sum(side == "heads" for side in calls.values())}


def _stored(group: str) -> set[str]:
    from hydra.core.config_store import ConfigStore

    return {name.removesuffix(".yaml") for name in ConfigStore.instance().repo.get(group, {})}


@pytest.fixture
def registered():
    """A scenario and a backend registered from Python for one test, then removed everywhere."""
    register_scenario(Toss)
    register_backend("tails_for_test", lambda config: ScriptedBackend(lambda request: "tails"))
    yield
    _registry._SCENARIOS.pop("toss_for_test")
    _registry._BACKENDS.pop("tails_for_test")
    compose_config()  # the ConfigStore follows the registries at every composition
    assert "toss_for_test" not in _stored("scenario")
    assert "tails_for_test" not in _stored("backend")


def test_registered_names_select_like_shipped_ones(registered, tmp_path):
    raw = compose_config(["scenario=toss_for_test", "backend=tails_for_test",
                          "population.size=3", f"out_dir={tmp_path}", "progress=false"])
    assert raw["scenario"] == {"name": "toss_for_test"}
    assert raw["backend"] == {"name": "tails_for_test"}
    result = run(raw)
    sides = {json.loads(e["data"])["side"] for e in read_table(result.run_dir).to_pylist()
             if e["kind"] == "called"}
    assert sides == {"tails"}
    assert apply_overrides(raw, ["backend=scripted"])["backend"]["name"] == "scripted"
    assert apply_overrides(compose_config(), ["scenario=toss_for_test"])["scenario"] == {
        "name": "toss_for_test"}
    swept = compose_sweep(["scenario=toss_for_test,donor_game", "backend=tails_for_test"])
    assert [j.config["scenario"]["name"] for j in swept] == ["toss_for_test", "donor_game"]
    assert {j.config["backend"]["name"] for j in swept} == {"tails_for_test"}


def test_unknown_options_list_shipped_and_registered_ones(registered):
    for group, registered_name, shipped in (("scenario", "toss_for_test", "werewolf"),
                                            ("backend", "tails_for_test", "vllm")):
        with pytest.raises(ConfigError) as caught:
            compose_config([f"{group}=nope"])
        message = str(caught.value)
        assert message.startswith(f"{group}: unknown option 'nope'; available: ")
        assert registered_name in message and shipped in message and "\n" not in message


def test_shipped_yaml_wins_over_a_registered_node(registered):
    compose_config()
    for group in ("scenario", "backend"):
        assert not (_stored(group) & shipped_options(group))
    assert compose_config(["backend=vllm"])["backend"] == public_compose(["backend=vllm"])[
        "backend"]


# -- the same through entry points and the real command line ---------------------------------------
@pytest.fixture
def coin_plugin(tmp_path, monkeypatch):
    with coin_plugin_installed(tmp_path / "site", monkeypatch) as root:
        yield root


def test_entry_point_components_compose_in_process(coin_plugin):
    raw = compose_config(["scenario=coin_toss_for_test", "backend=echo_for_test"])
    assert raw["scenario"] == {"name": "coin_toss_for_test"}
    assert raw["backend"] == {"name": "echo_for_test"}


def test_entry_point_components_run_from_the_societas_command(coin_plugin, tmp_path):
    args = ("scenario=coin_toss_for_test", "backend=echo_for_test", "population.size=3",
            "out_dir=runs", "progress=false")
    done = societas("run", *args, cwd=tmp_path, plugins=coin_plugin)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "metrics" not in done.stdout  # no analysis: no metrics, no error
    run_dir = next((tmp_path / "runs").iterdir())
    sides = {json.loads(e["data"])["side"] for e in read_table(run_dir).to_pylist()
             if e["kind"] == "called"}
    assert sides == {"heads"}
    viewed = societas("view", str(run_dir), "--no-pager", cwd=tmp_path, plugins=coin_plugin)
    assert viewed.returncode == 0, viewed.stderr
    assert re.search(r"a\d+ called \(side=heads\)", viewed.stdout)  # the generic timeline
    wrong = societas("run", "scenario=coin_tos", cwd=tmp_path, plugins=coin_plugin)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1
    assert "scenario: unknown option 'coin_tos'; available: " in wrong.stderr
    assert "coin_toss_for_test" in wrong.stderr and "donor_game" in wrong.stderr

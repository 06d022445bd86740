"""From a raw config to everything a run needs: validated models, policies and populations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from societas.simulator._config import PopulationConfig, RunConfig, validate_model
from societas.simulator._errors import ConfigError
from societas.simulator._plan_checks import (
    check_finite,
    check_fixed_answers,
    check_intervention_targets,
    check_out_dir,
)
from societas.simulator._population import DEFAULT_CHANNEL, MODEL_POLICY, AgentSpec, Population
from societas.simulator._registry import (
    backend_names,
    check_backend,
    get_scenario,
    scenario_names,
    strategies_for,
)
from societas.simulator._scenario import Scenario
from societas.simulator._seeding import derive_rng
from societas.simulator._strategies import FixedStrategy, Strategy
from societas.simulator.graph import check_graph


@dataclass(frozen=True)
class RunPlan:
    """A validated run: config, scenario class and config, and the scripted policies in use."""

    config: RunConfig
    scenario_cls: type[Scenario]
    scenario_config: BaseModel
    policies: dict[str, Strategy]
    default_policy: str

    @property
    def uses_model(self) -> bool:
        """Whether any agent is answered by the model backend."""
        return self.default_policy == MODEL_POLICY or any(
            g.strategy is None for g in self.config.population.groups)


def plan_run(raw: RunConfig | Mapping[str, Any]) -> RunPlan:
    """Validate a config completely before anything starts; raises `ConfigError`."""
    config = raw if isinstance(raw, RunConfig) else validate_model(RunConfig, raw)
    if "name" not in config.scenario:
        raise ConfigError("scenario.name", "missing; choose a scenario, e.g. scenario=donor_game")
    scenario_cls = get_scenario(config.scenario_name)
    config = _resolve_memory(config, scenario_cls)
    scenario_config = validate_model(scenario_cls.Config, config.scenario_params(), "scenario")
    check_finite(config.scenario_params(), "scenario")  # inf/nan: now, not mid-run
    check_out_dir(config.out_dir)
    if config.backend.name not in backend_names():
        raise ConfigError("backend.name", f"unknown backend {config.backend.name!r}; "
                          f"registered: {', '.join(backend_names())}")
    check_backend(config.backend)  # unknown backend.* keys, bad values: now, not mid-run
    check_graph(config.graph, config.population.size)
    population = config.population
    grouped = sum(g.count for g in population.groups)
    if grouped > population.size:
        raise ConfigError("population.groups", f"the groups hold {grouped} agents but "
                          f"population.size is {population.size}")
    table = strategies_for(scenario_cls)
    policies: dict[str, Strategy] = {}
    scripted = config.backend.name == "scripted"
    default_policy = MODEL_POLICY
    if scripted or grouped == population.size:
        default_policy = _add_policy(policies, table, population.strategy, population.params,
                                     "population", scenario_cls, scenario_config)
    elif population.strategy != "random" or population.params:
        raise ConfigError("population.strategy", f"{population.strategy!r} would be ignored: "
                          f"with backend={config.backend.name} every agent outside "
                          "population.groups is answered by the model; use backend=scripted, "
                          "or put the scripted agents in a group")
    for i, group in enumerate(population.groups):
        name = group.strategy or (population.strategy if scripted else None)
        if name is not None:
            params = group.params if group.strategy else population.params
            where = f"population.groups.{i}" if group.strategy else "population"
            _add_policy(policies, table, name, params, where, scenario_cls, scenario_config)
    _check_interventions(config, scenario_cls)
    check_intervention_targets(config, scenario_cls, scenario_config)
    scenario_cls.check_run(scenario_config, config)
    return RunPlan(config, scenario_cls, scenario_config, policies, default_policy)


DEFAULT_MEMORY = 20
"""The bound of the default channel, for scenarios that declare no `memory_channels`."""


def memory_limits(scenario_cls: type[Scenario],
                  memory: int | Mapping[str, int] | None) -> dict[str, int]:
    """Each memory channel's bound for the agents of `scenario_cls`; raises `ConfigError`.

    A scenario declares its channels, and their default bounds, as `Scenario.memory_channels`;
    one that declares none has the single
    channel ``default`` (`DEFAULT_CHANNEL`) bounded by `DEFAULT_MEMORY`. ``population.memory``
    overrides them: an int bounds every channel, ``{channel: k}`` the named ones (the others
    keep their default), None keeps the defaults.
    """
    defaults = dict(scenario_cls.memory_channels or {DEFAULT_CHANNEL: DEFAULT_MEMORY})
    if memory is None:
        return defaults
    if isinstance(memory, int):
        return dict.fromkeys(defaults, memory)
    for channel in memory:
        if channel not in defaults:
            raise ConfigError(f"population.memory.{channel}", f"{scenario_cls.name} has no memory "
                              f"channel {channel!r}; its channels: {', '.join(defaults)}")
    return {**defaults, **memory}


def _resolve_memory(config: RunConfig, scenario_cls: type[Scenario]) -> RunConfig:
    """`config` with ``population.memory`` resolved per channel (the manifest records that)."""
    if "memory" in config.scenario and "memory" not in scenario_cls.Config.model_fields:
        raise ConfigError("scenario.memory", "memory bounds moved to population.memory: an int "
                          "for every channel or {channel: bound}, e.g. "
                          "population.memory={summaries:1}; this scenario's channels: "
                          f"{', '.join(memory_limits(scenario_cls, None))}")
    limits = memory_limits(scenario_cls, config.population.memory)
    population = config.population.model_copy(update={"memory": limits})
    return config.model_copy(update={"population": population})


def policy_id(name: str, params: Mapping[str, Any]) -> str:
    """A readable, unique policy name: ``fixed_fraction(fraction=0.5)``."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={params[k]!r}' for k in sorted(params))})"


def _add_policy(policies: dict[str, Strategy], table: dict[str, type[Strategy]], name: str,
                params: Mapping[str, Any], path: str, scenario_cls: type[Scenario],
                scenario_config: BaseModel) -> str:
    if name == MODEL_POLICY:
        raise ConfigError(f"{path}.strategy", f"{MODEL_POLICY!r} is reserved; leave the strategy "
                          "unset for agents answered by the model")
    if name not in table:
        raise ConfigError(f"{path}.strategy", f"unknown strategy {name!r}; this scenario has: "
                          f"{', '.join(sorted(table))}")
    cls = table[name]
    strategy = cls(validate_model(cls.Params, params, f"{path}.params"))
    asked_by = {s: get_scenario(s).questions for s in cls.scenarios if s in scenario_names()}
    unfit = strategy.unfit_for(scenario_cls.name, scenario_cls.questions, asked_by)
    if unfit:
        raise ConfigError(f"{path}.strategy", f"{name!r} cannot play {scenario_cls.name}: "
                          f"{unfit}")
    if isinstance(strategy, FixedStrategy):  # an answer the question refuses: now, not mid-run
        check_fixed_answers(strategy.params.answers, scenario_cls.answer_shapes(scenario_config),
                            f"{path}.params.answers")
    policy = policy_id(name, params)
    policies[policy] = strategy
    return policy


def _check_interventions(config: RunConfig, scenario_cls: type[Scenario]) -> None:
    """Each intervention must name a question the scenario asks."""
    asked = scenario_cls.questions
    for i, intervention in enumerate(config.interventions):
        if asked and intervention.question not in asked:
            raise ConfigError(f"interventions.{i}.question", f"{scenario_cls.name} never asks "
                              f"{intervention.question!r}; its questions: "
                              f"{', '.join(sorted(asked))}")


def population_specs(plan: RunPlan, sim_index: int) -> list[AgentSpec]:
    """The agents of simulation `sim_index`: groups first, then the default policy."""
    population: PopulationConfig = plan.config.population
    scripted = plan.config.backend.name == "scripted"
    policies: list[tuple[str, dict[str, Any]]] = []
    for group in population.groups:
        if group.strategy is not None:
            policy = policy_id(group.strategy, group.params)
        elif scripted:
            policy = policy_id(population.strategy, population.params)
        else:
            policy = MODEL_POLICY
        policies += [(policy, group.persona)] * group.count
    policies += [(plan.default_policy, {})] * (population.size - len(policies))
    pool = list(population.personas)
    if pool:
        rng = derive_rng(plan.config.seed, "personas", sim_index)
        pool = [pool[i] for i in rng.permutation(len(pool))]
    width = len(str(population.size - 1))
    memory = memory_limits(plan.scenario_cls, population.memory)
    return [
        AgentSpec(id=f"a{i:0{width}d}", policy=policy,
                  persona={**(pool[i % len(pool)] if pool else {}), **persona},
                  memory=memory)
        for i, (policy, persona) in enumerate(policies)
    ]


def build_population(plan: RunPlan, sim_index: int) -> Population:
    """Instantiate the agents of one simulation."""
    make = plan.scenario_cls.make_agent
    return Population(make(spec) for spec in population_specs(plan, sim_index))

"""Classical opinion dynamics over the run's social graph, vectorised (numpy / scipy sparse).

Models (``model``; equations in the scenario notes §8.2)
    ``degroot``: x(t+1) = W x(t) with W = D⁻¹(A + s·I), s = ``self_weight``.
    ``friedkin_johnsen``: x(t+1) = λ W x(t) + (1 − λ) u, λ = ``susceptibility`` (stubbornness
    1 − λ), anchors u = x(0).
    ``hegselmann_krause``: synchronous; each agent takes the mean of the opinions within
    ``epsilon`` of its own, among its graph sources (``neighbourhood: graph``) or everyone
    (``everyone``, the original model, in O(N log N)).
    ``deffuant``: pairs closer than ``epsilon`` move ``mu`` of their gap towards each other.
    ``voter``: an agent copies the opinion of a random source.

Graph
    ``graph=...`` picks the network (``simulator.graph``); an edge j → i means i hears j, and an
    undirected edge works both ways. Edge ``weight`` attributes weight W. Every model needs a
    graph except Hegselmann–Krause with ``neighbourhood: everyone``.

Steps
    DeGroot, Friedkin–Johnsen and Hegselmann–Krause update every agent at once: one sparse
    product (or one pass over the edges) per step, no loop over agents. Deffuant and the voter
    model are pairwise: each step, a share ``sample`` of the agents (drawn from ``sim.rng``) each
    pick a random source, pairs sharing an agent with an earlier pair of the step are dropped,
    and the rest update together, which equals updating them one after another.

Stopping
    After ``steps`` steps, or earlier when ``stop_when_converged``: the deterministic models
    stop once no opinion moves more than ``tolerance`` in a step, the pairwise ones once every
    opinion is within ``tolerance`` of every other (consensus, which they never leave).

Events
    ``network_built`` and one ``linked`` per edge (``log_edges``) at step 0; ``surveyed`` (every
    agent's opinion) at step 0, every ``record_every`` steps (0: none in between) and at the last
    step; the outcome gives steps run, whether it converged, and final bias and diversity.

Metrics (``analysis.opinion``)
    Bias, diversity, clusters, bimodality, polarization, time to consensus, ΔSD, shares
    moderated / polarized / flipped, opinion assortativity over the graph.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from societas.agents import Agent
from societas.scenarios.opinion.initial import Initial, Uniform
from societas.scenarios.opinion.models import (
    Deffuant,
    DeGroot,
    FriedkinJohnsen,
    HegselmannKrause,
    ModelName,
    Voter,
)
from societas.simulator.graph import GRAPH_EVENTS, influence_matrix, log_network
from societas.simulator.scenario import ConfigError, Event, Outcome, RunConfig, Scenario, Sim


class OpinionModelConfig(BaseModel):
    """Parameters of the classical models (each model reads the ones it needs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelName = "degroot"
    steps: int = Field(default=100, ge=1)
    initial: Initial = Uniform()
    self_weight: float = Field(default=1.0, ge=0.0, description="DeGroot/FJ weight of own opinion")
    susceptibility: float = Field(default=0.8, ge=0.0, le=1.0,
                                  description="FJ λ (stubbornness 1 − λ)")
    epsilon: float = Field(default=0.2, gt=0.0, description="HK / Deffuant confidence bound")
    mu: float = Field(default=0.5, gt=0.0, le=0.5, description="Deffuant convergence parameter")
    neighbourhood: Literal["graph", "everyone"] = "graph"
    sample: float = Field(default=0.5, gt=0.0, le=1.0,
                          description="pairwise: share of agents drawn")
    stop_when_converged: bool = True
    tolerance: float = Field(default=1e-9, ge=0.0)
    record_every: int = Field(default=1, ge=0,
                              description="survey interval in steps (0: first and last)")
    log_edges: bool = True


class Surveyed(Event):
    """An agent's opinion at a recorded step."""

    kind: ClassVar[str] = "surveyed"
    opinion: float


class OpinionModel(Scenario):
    """A classical opinion model stepped over the social graph."""

    name = "opinion_model"
    Config = OpinionModelConfig
    make_agent = staticmethod(Agent.from_spec)
    events = (Surveyed, *GRAPH_EVENTS)
    smoke: ClassVar[dict[str, Any]] = {"scenario": {"steps": 5}, "population": {"size": 30},
                                       "graph": {"name": "barabasi_albert", "m": 2}}

    config: OpinionModelConfig

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        assert isinstance(config, OpinionModelConfig)
        return config.steps

    @classmethod
    def check_run(cls, config: BaseModel, run: RunConfig) -> None:
        assert isinstance(config, OpinionModelConfig)
        everyone = config.model == "hegselmann_krause" and config.neighbourhood == "everyone"
        if run.graph.name == "none" and not everyone:
            raise ConfigError("graph.name", f"the {config.model} model runs on a social graph; "
                              "choose one, e.g. graph=barabasi_albert or graph=complete")

    async def run(self, sim: Sim) -> Outcome:
        cfg = self.config
        agents = list(sim.agents.ids)
        x = cfg.initial.draw(len(agents), sim.rng)
        model = self.build(sim, agents, x)
        self.survey(sim, agents, x)
        converged = False
        for step in range(1, cfg.steps + 1):
            sim.advance("update")
            nxt = model.step(x, sim.rng)
            converged = cfg.stop_when_converged and self.converged(model, x, nxt)
            x = nxt
            last = converged or step == cfg.steps
            if last or (cfg.record_every and step % cfg.record_every == 0):
                self.survey(sim, agents, x)
            if last:
                break
            await asyncio.sleep(0)  # let progress displays refresh on long runs
        return Outcome(model=cfg.model, steps=sim.step, converged=converged,
                       bias=float(np.mean(x)), diversity=float(np.std(x)),
                       midpoint=cfg.initial.midpoint())

    def build(self, sim: Sim, agents: list[str], initial: np.ndarray) -> Any:
        """The model object over this simulation's graph (`initial` anchors Friedkin–Johnsen)."""
        cfg = self.config
        everyone = cfg.model == "hegselmann_krause" and cfg.neighbourhood == "everyone"
        if sim.graph is None:
            if not everyone:
                raise ValueError(f"the {cfg.model} model runs on a graph; choose one "
                                 "(graph=barabasi_albert, graph=complete, ...)")
            return HegselmannKrause(None, cfg.epsilon)
        sim.enter("network")
        log_network(sim, edges=cfg.log_edges)
        adjacency = influence_matrix(sim.graph, agents)
        if everyone:
            return HegselmannKrause(None, cfg.epsilon)
        if cfg.model == "hegselmann_krause":
            return HegselmannKrause(adjacency, cfg.epsilon)
        if cfg.model == "deffuant":
            return Deffuant(adjacency, cfg.sample, epsilon=cfg.epsilon, mu=cfg.mu)
        if cfg.model == "voter":
            return Voter(adjacency, cfg.sample)
        from societas.scenarios.opinion.kernels import influence_weights

        weights = influence_weights(adjacency, cfg.self_weight)
        if cfg.model == "degroot":
            return DeGroot(weights)
        return FriedkinJohnsen(weights, initial.copy(), cfg.susceptibility)

    def converged(self, model: Any, before: np.ndarray, after: np.ndarray) -> bool:
        """No opinion moved more than `tolerance` (deterministic), or consensus (pairwise)."""
        tol = self.config.tolerance
        if model.deterministic:
            return bool(np.max(np.abs(after - before), initial=0.0) <= tol)
        return bool(np.ptp(after) <= tol) if len(after) else True

    def survey(self, sim: Sim, agents: list[str], x: np.ndarray) -> None:
        """Record every agent's opinion at the current step."""
        sim.enter("survey")
        for agent, opinion in zip(agents, x.tolist(), strict=True):
            sim.emit(Surveyed(actor=agent, opinion=opinion))

"""Donor game with cultural evolution (Vallinder & Hughes 2024, arXiv:2412.10270).

Players and generations
    ``population.size`` agents (12 by default) play ``generations`` generations (10). Each
    generation is one game of ``rounds`` rounds (12); agents are never told how many.

Round
    The population is split at random (``sim.rng``) into halves A and B at the start of each
    generation. In round r, A_k is paired with B_(k−r mod half). The donor sees the recipient's
    resources and its reputation trace, and gives up x in [0, own resources]; the recipient gains
    ``multiplier``·x (2). With ``punishment`` on, a donor may instead punish: pay x, the recipient
    loses ``punishment_loss``·x (2), floored at 0.

Pairing schedules (``pairing``)
    ``alternating`` (default, the paper's text): donors are A, B, A, B, … strictly, so a donor in
    one round is a recipient in the next. ``notebook`` (the released code's
    ``bipartiteRoundRobin`` + ``extendRounds``): the first half-size rounds alternate from A, the
    next ones repeat the pairings with roles swapped (A,B,A,B,A,B,B,A,B,A,B,A for 12 agents), so
    each A–B pair meets once in each role. Everyone donating everything ends a generation with
    average resources 30,720 under ``alternating`` and 15,360 under ``notebook``.

Trace
    After donor D acts on recipient R, D's trace is D's action followed by R's trace, cut to
    ``trace_depth`` (3) links; donors read the recipient's trace, most recent first, fractions
    as a share of the acting donor's resources.

Selection and transmission
    After the game, agents are ranked by final resources; the top ``survival_fraction`` (50 %)
    survive with resources reset to the endowment and keep their strategies. New agents fill the
    population; each is asked for a strategy after reading the survivors' strategies and scores.
    A new agent takes the policy and persona of the survivor of the same rank (cycled), so in a
    mixed population of scripted baselines, selection acts on the policies.

Deviations from the released notebook
    One game per generation with selection on its final resources (the notebook plays two and
    doubles the second's score); strict alternation by default (the notebook's schedule is
    selectable). The "reputation" score the notebook computes but never shows agents is omitted.

Events
    ``generation_started``, ``strategy_chosen``, ``donated`` (donations and punishments),
    ``scored`` (final resources, rank, survived), ``born``; the outcome lists the average final
    resources per generation.

Metrics (``analysis.donor_game``)
    Average final resources per generation, mean donation fraction, punishment frequency.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from societas.agents import Agent
from societas.scenarios._templates import Prompts
from societas.scenarios.donor_game.kernels import (
    Trace,
    TraceEntry,
    apply_move,
    describe_trace,
    extend_trace,
    pairings,
    survivors,
)
from societas.scenarios.donor_game.strategies import BASELINES
from societas.scenarios.donor_game.views import Advice, DonationView, Move, StrategyView
from societas.simulator.scenario import (
    ConfigError,
    Event,
    Form,
    Number,
    Outcome,
    PopulationConfig,
    Question,
    RunConfig,
    Scenario,
    Sim,
    Text,
)

PROMPTS = Prompts(__file__)
FALLBACK_STRATEGY = "My strategy will be to decide case by case."


class DonorGameConfig(BaseModel):
    """Parameters of the donor game (defaults are the paper's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generations: int = Field(default=10, ge=1)
    rounds: int = Field(default=12, ge=1)
    endowment: float = Field(default=10.0, gt=0)
    multiplier: float = Field(default=2.0, gt=0)
    trace_depth: int = Field(default=3, ge=0)
    survival_fraction: float = Field(default=0.5, gt=0, lt=1)
    pairing: Literal["alternating", "notebook"] = "alternating"
    punishment: bool = False
    punishment_loss: float = Field(default=2.0, ge=0)
    reasoning: bool = Field(default=True,
                            description="ask models for a justification before answering")
    strategy_words: int = Field(default=60, ge=5, description="word limit of a strategy sentence")


# -- events ----------------------------------------------------------------------------------------
class GenerationStarted(Event):
    """A generation begins; the two halves of the bipartite pairing."""

    kind: ClassVar[str] = "generation_started"
    generation: int
    group_a: list[str]
    group_b: list[str]


class StrategyChosen(Event):
    """An agent states the strategy it will follow."""

    kind: ClassVar[str] = "strategy_chosen"
    generation: int
    strategy: str


class Donated(Event):
    """A donor's move: donation or punishment, with resources after it."""

    kind: ClassVar[str] = "donated"
    generation: int
    round: int
    action: Literal["donate", "punish"]
    amount: float
    fraction: float
    donor_after: float
    recipient_after: float


class Scored(Event):
    """An agent's final resources and rank at the end of a generation."""

    kind: ClassVar[str] = "scored"
    generation: int
    resources: float
    rank: int
    survived: bool

    def removes(self) -> tuple[str, ...]:
        """An agent that does not survive selection plays no more."""
        return () if self.survived or self.actor is None else (self.actor,)


class Born(Event):
    """A new agent joins, taking a survivor's policy and persona."""

    kind: ClassVar[str] = "born"
    generation: int
    parent: str
    policy: str


# -- the game --------------------------------------------------------------------------------------
class DonorGame(Scenario):
    """Iterated donor game with generational selection and strategy inheritance."""

    name = "donor_game"
    Config = DonorGameConfig
    strategies = BASELINES
    make_agent = staticmethod(Agent.from_spec)
    events = (GenerationStarted, StrategyChosen, Donated, Scored, Born)
    questions = frozenset({"strategy", "donate"})
    smoke: ClassVar[dict[str, Any]] = {"scenario": {"generations": 2, "rounds": 4},
                                       "population": {"size": 6}}

    config: DonorGameConfig

    @classmethod
    def check_population(cls, config: BaseModel, population: PopulationConfig) -> None:
        if population.size < 2 or population.size % 2:
            raise ConfigError("population.size", f"the donor game pairs two equal halves, so it "
                              f"needs an even size >= 2 (got {population.size})")

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        assert isinstance(config, DonorGameConfig)
        return config.generations * (1 + config.rounds)  # a strategy step, then the rounds

    @classmethod
    def answer_shapes(cls, config: BaseModel) -> dict[str, Question[Any]]:
        """The shapes of the questions, for checking fixed answers when a run is planned.

        ``donate`` is left out: its bound is the donor's resources at the time.
        """
        assert isinstance(config, DonorGameConfig)
        return {"strategy": Text(name="strategy", prompt="", max_words=config.strategy_words)}

    @classmethod
    def agent_ids(cls, config: BaseModel, run: RunConfig) -> frozenset[str]:
        assert isinstance(config, DonorGameConfig)
        born = {f"g{g}_{i}" for g in range(2, config.generations + 1)  # `breed`'s names
                for i in range(1, run.population.size + 1)}
        return super().agent_ids(config, run) | born  # type: ignore[operator]

    async def run(self, sim: Sim) -> Outcome:
        cfg = self.config
        briefing = PROMPTS.render("system", **cfg.model_dump())
        players = list(sim.agents.ids)
        sim.brief(players, briefing)
        strategies = await self.choose_strategies(sim, players, generation=1, advice=())
        averages: list[float] = []
        for generation in range(1, cfg.generations + 1):
            resources = await self.play_generation(sim, players, strategies, generation)
            averages.append(sum(resources.values()) / len(resources))
            kept = self.select(sim, resources, generation)
            if generation == cfg.generations:
                break
            advice = tuple(Advice(name=a, strategy=strategies[a], score=resources[a])
                           for a in kept)
            newcomers = self.breed(sim, kept, len(players) - len(kept), generation + 1,
                                   briefing)
            strategies = {a: strategies[a] for a in kept}
            strategies |= await self.choose_strategies(sim, newcomers, generation + 1, advice)
            players = kept + newcomers
        return Outcome(average_final_resources=averages, final_average=averages[-1])

    async def choose_strategies(self, sim: Sim, players: list[str], generation: int,
                                advice: tuple[Advice, ...]) -> dict[str, str]:
        """Ask each new agent for its strategy sentence."""
        sim.advance(phase="strategy")
        questions = {}
        for player in players:
            view = StrategyView(name=player, generation=generation, advice=advice)
            questions[player] = Text(
                name="strategy", prompt=PROMPTS.lazy("strategy", view=view), view=view,
                max_words=self.config.strategy_words, reasoning=self.config.reasoning,
                fallback=FALLBACK_STRATEGY)
        chosen = await sim.ask_all(questions)
        for player in players:
            sim.emit(StrategyChosen(actor=player, generation=generation, strategy=chosen[player]))
        return chosen

    async def play_generation(self, sim: Sim, players: list[str], strategies: dict[str, str],
                              generation: int) -> dict[str, float]:
        """One game of `rounds` rounds; returns final resources."""
        cfg = self.config
        order = [players[i] for i in sim.rng.permutation(len(players))]
        half = len(order) // 2
        group_a, group_b = order[:half], order[half:]
        sim.emit(GenerationStarted(generation=generation, group_a=group_a, group_b=group_b))
        resources = dict.fromkeys(players, cfg.endowment)
        traces: dict[str, Trace] = dict.fromkeys(players, ())
        for round_index in range(cfg.rounds):
            sim.advance(phase="donate")
            pairs = pairings(group_a, group_b, round_index, cfg.pairing)
            moves = await sim.ask_all({
                donor: self.donation_question(donor, recipient, strategies[donor], generation,
                                              round_index + 1, resources, traces)
                for donor, recipient in pairs})
            for donor, recipient in pairs:
                self.settle(sim, donor, recipient, moves[donor], generation, round_index + 1,
                            resources, traces)
        return resources

    def donation_question(self, donor: str, recipient: str, strategy: str, generation: int,
                          round_number: int, resources: dict[str, float],
                          traces: dict[str, Trace]) -> Number | Form:
        """The donor's question, shaped by whether punishment is allowed."""
        cfg = self.config
        view = DonationView(
            name=donor, strategy=strategy, generation=generation, round=round_number,
            recipient=recipient, recipient_resources=resources[recipient],
            own_resources=resources[donor], trace=traces[recipient], punishment=cfg.punishment)
        def prompt() -> str:
            trace_text = describe_trace(recipient, view.trace)
            return PROMPTS.render("donate", view=view, trace_text=trace_text)

        if cfg.punishment:
            return Form(name="donate", prompt=prompt, view=view, model=Move,
                        limits={"amount": (0.0, view.own_resources)}, reasoning=cfg.reasoning,
                        fallback=Move(action="donate", amount=0.0))
        return Number(name="donate", prompt=prompt, view=view, low=0.0, high=view.own_resources,
                      reasoning=cfg.reasoning, fallback=0.0)

    def settle(self, sim: Sim, donor: str, recipient: str, move: Any, generation: int,
               round_number: int, resources: dict[str, float], traces: dict[str, Trace]) -> None:
        """Apply one move: resources, the donor's new trace, the event."""
        cfg = self.config
        action, amount = (move.action, move.amount) if isinstance(move, Move) else ("donate", move)
        before = resources[donor]
        resources[donor], resources[recipient] = apply_move(
            before, resources[recipient], action, amount, multiplier=cfg.multiplier,
            punishment_loss=cfg.punishment_loss)
        fraction = amount / before if before > 0 else 0.0
        entry = TraceEntry(round=round_number, donor=donor, recipient=recipient, action=action,
                           fraction=fraction)
        traces[donor] = extend_trace(traces[recipient], entry, cfg.trace_depth)
        sim.emit(Donated(actor=donor, target=recipient, generation=generation,
                         round=round_number, action=action, amount=amount, fraction=fraction,
                         donor_after=resources[donor], recipient_after=resources[recipient]))

    def select(self, sim: Sim, resources: dict[str, float], generation: int) -> list[str]:
        """Rank by final resources; the top fraction survive. Emits one `scored` per agent."""
        sim.enter("selection")
        kept = survivors(resources, self.config.survival_fraction)
        ranked = sorted(resources, key=lambda a: -resources[a])
        for rank, player in enumerate(ranked, start=1):
            sim.emit(Scored(actor=player, generation=generation, resources=resources[player],
                            rank=rank, survived=player in kept))
        return kept

    def breed(self, sim: Sim, kept: list[str], count: int, generation: int,
              briefing: str) -> list[str]:
        """Create `count` agents for `generation`; each copies a survivor's policy and persona."""
        newcomers = []
        for i in range(count):
            parent = sim.agents[kept[i % len(kept)]]
            child = f"g{generation}_{i + 1}"
            sim.spawn(child, policy=parent.policy, persona=parent.persona)
            sim.brief(child, briefing)
            sim.emit(Born(actor=child, generation=generation, parent=parent.id,
                          policy=parent.policy))
            newcomers.append(child)
        return newcomers


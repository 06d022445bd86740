"""LLM opinion dynamics on a network (Chuang et al., Findings of NAACL 2024, arXiv:2311.09618).

Topic
    One of 15 claims with a known truth value (``topic``), under its ``true`` or ``false``
    framing, always read as "Theory XYZ that claims that …" (``scenarios.opinion.topics``).
    Opinions are integers on −2..2 (strongly negative … strongly positive towards XYZ). A
    custom ``claim`` replaces the topic's.

Agents
    ``population.size`` agents (the paper: 10) with personas from ``population.personas``.
    Initial opinions come from ``initial`` (default: the levels −2..2 spread evenly, two agents
    each for ten agents, shuffled by ``sim.rng``); prompts state each agent's initial belief.
    The shared briefing sets the closed world (``closed_world``: the agent cannot look anything
    up) and the confirmation-bias sentence (``confirmation_bias``: none, weak or strong; the
    paper's wording).

Exchange (``exchange``)
    ``dyad`` (the paper's): each step one listener is drawn uniformly among the agents that hear
    somebody, and one speaker uniformly among its sources (with no graph: any other agent, which
    is the paper's uniform random pair). The speaker writes a post reflecting its honest belief
    (``post``), the listener reads it and reports its belief (``report``). Only the listener's
    opinion changes.
    ``round``: each step every agent posts, then every agent reads the posts of ``feed`` of its
    sources (0: all of them) and reports, all asked together. This is the network-scale form (a
    10,000-agent round is two batched ``ask_all`` calls).

Reports
    The report is a choice among −2..2 (with a short reasoning first when ``reasoning``), so a
    model's answer is constrained to the scale and no opinion classifier is needed (the paper
    used FLAN-T5-XXL to rate free text). A malformed report keeps the previous opinion.

Memory (``memory``)
    ``cumulative``: every post written and read, with the opinion reported after it, is added
    to the agent's memory (``population.memory`` keeps the last k entries; the paper keeps all,
    so set it to at least the number of interactions). ``reflective``: after each interaction
    the agent writes a reflection (``reflect``) that replaces its previous one and is shown in
    its next prompts.

Mixed populations
    Agents in ``population.groups`` with a strategy are classical updaters (``degroot``,
    ``friedkin_johnsen``, ``hegselmann_krause``, ``deffuant``, ``voter``, ``stubborn``): they read
    the stated opinions (latest reports) of the authors they heard, apply their rule and report
    on the same scale. Model agents read only the text.

Dynamic edges
    With ``unfollow`` set, a listener stops hearing an author whose stated opinion is at least
    that far from its new report (``unlinked``), and with ``refollow`` starts hearing a random
    agent it did not hear (``linked``).

Events
    ``network_built`` and ``linked`` (with a graph) at step 0, ``surveyed`` (every agent's
    opinion) at step 0 and at the end, ``posted`` (public: author, text, author's opinion),
    ``reported`` (private: opinion, previous opinion, authors heard), ``reflected``,
    ``linked`` / ``unlinked``.

Metrics (``analysis.opinion``)
    Bias B = mean and diversity D = std of final opinions (the paper's D uses ddof = 1; the
    summary reports ddof = 0 and 1), clusters, time to consensus, shares moderated / polarized /
    flipped, assortativity.

Deviations from the paper
    Reports are constrained choices instead of classified free text; the 6 cumulative-memory
    templates are one sentence per event; personas are the config's (the paper's 10 personas
    are in its Appendix B); dyads run along graph edges when a graph is given.

Version history
    1: the paper's protocol, dyads and rounds, cumulative and reflective memory.
    2: posts read in ``report``, and posts written and read in memory (and so in ``reflect``),
       are shown as one JSON string literal (``views.quoted``), with a note that they are
       quoted exactly, instead of pasted inside plain double quotes: a line break or a quote in
       a post can no longer end the quote and start a prompt line of its own (a fake
       instruction). The words, and everything else an agent is told, are unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from societas.agents import Agent
from societas.scenarios._templates import Prompts
from societas.scenarios.opinion.classical import Surveyed
from societas.scenarios.opinion.initial import Initial, Levels, check_scale
from societas.scenarios.opinion.strategies import UPDATERS, stance_words
from societas.scenarios.opinion.topics import LEVELS, TOPICS, Framing
from societas.scenarios.opinion.views import (
    Heard,
    ReflectView,
    SpeakView,
    UpdateView,
    quoted,
)
from societas.simulator.graph import GRAPH_EVENTS, link, log_network, sources, unlink
from societas.simulator.scenario import (
    Choice,
    Event,
    Outcome,
    Question,
    RunConfig,
    Scenario,
    Sim,
    Text,
)

PROMPTS = Prompts(__file__)
LOW, HIGH = -2, 2


class OpinionDynamicsConfig(BaseModel):
    """Parameters of the LLM opinion-dynamics scenario (defaults are the paper's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = "global_warming"
    framing: Framing = "false"
    claim: str | None = Field(default=None, description="a custom claim replacing the topic's")
    confirmation_bias: Literal["none", "weak", "strong"] = "none"
    memory: Literal["cumulative", "reflective"] = "cumulative"
    exchange: Literal["dyad", "round"] = "dyad"
    steps: int = Field(default=100, ge=1, description="dyads (dyad) or rounds (round)")
    feed: int = Field(default=1, ge=0, description="round: posts each agent reads (0: all sources)")
    initial: Initial = Levels(values=[-2, -1, 0, 1, 2])
    closed_world: bool = True
    reasoning: bool = True
    post_words: int = Field(default=60, ge=5)
    reflection_words: int = Field(default=80, ge=5)
    unfollow: float | None = Field(default=None, gt=0, description="unfollow authors this far away")
    refollow: bool = False
    log_edges: bool = True

    @model_validator(mode="after")
    def _known_topic(self) -> OpinionDynamicsConfig:
        if self.claim is None and self.topic not in TOPICS:
            raise ValueError(f"unknown topic {self.topic!r}; topics: {', '.join(TOPICS)}, or "
                             "give your own claim")
        check_scale(self.initial, LOW, HIGH, integer=True)
        return self

    def claim_text(self) -> str:
        """The claim agents discuss."""
        return self.claim or TOPICS[self.topic].claim(self.framing)


# -- events ----------------------------------------------------------------------------------------
class Posted(Event):
    """A public post: its author (actor), text, and the author's opinion when writing it."""

    kind: ClassVar[str] = "posted"
    text: str
    opinion: float


class Reported(Event):
    """A private opinion report after reading posts."""

    kind: ClassVar[str] = "reported"
    opinion: float
    previous: float
    heard: list[str]


class Reflected(Event):
    """A reflection that replaces the agent's previous one (reflective memory)."""

    kind: ClassVar[str] = "reflected"
    text: str


# -- the scenario ----------------------------------------------------------------------------------
class OpinionDynamics(Scenario):
    """Agents post about a claim and report their belief after reading each other's posts."""

    name = "opinion_dynamics"
    Config = OpinionDynamicsConfig
    strategies = UPDATERS
    make_agent = staticmethod(Agent.from_spec)
    events = (Posted, Reported, Reflected, Surveyed, *GRAPH_EVENTS)
    questions = frozenset({"post", "report", "reflect"})
    smoke: ClassVar[dict[str, Any]] = {"scenario": {"steps": 8}, "population": {"size": 6},
                                       "graph": {"name": "complete"}}

    config: OpinionDynamicsConfig

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        assert isinstance(config, OpinionDynamicsConfig)
        return config.steps

    @classmethod
    def answer_shapes(cls, config: BaseModel) -> dict[str, Question[Any]]:
        """The shapes of the questions, for checking fixed answers when a run is planned."""
        assert isinstance(config, OpinionDynamicsConfig)
        return {"post": Text(name="post", prompt="", max_words=config.post_words),
                "report": Choice(name="report", prompt="", options=list(range(LOW, HIGH + 1))),
                "reflect": Text(name="reflect", prompt="", max_words=config.reflection_words)}

    async def run(self, sim: Sim) -> Outcome:
        cfg = self.config
        self.claim = cfg.claim_text()
        self.agents = list(sim.agents.ids)
        self.position = {a: i for i, a in enumerate(self.agents)}
        self.opinions = dict(zip(self.agents, cfg.initial.draw(len(self.agents), sim.rng).tolist(),
                                 strict=True))
        self.anchors = dict(self.opinions)
        self.reflections = dict.fromkeys(self.agents, "")
        sim.brief(self.agents, PROMPTS.render(
            "system", claim=self.claim, closed_world=cfg.closed_world,
            confirmation_bias=cfg.confirmation_bias, levels=LEVELS))
        if sim.graph is not None:
            sim.enter("network")
            log_network(sim, edges=cfg.log_edges)
        self.survey(sim)
        for _ in range(cfg.steps):
            sim.advance("exchange")
            if cfg.exchange == "dyad":
                await self.dyad(sim)
            else:
                await self.round(sim)
        self.survey(sim)
        final = np.array([self.opinions[a] for a in self.agents])
        return Outcome(claim=self.claim, steps=cfg.steps, bias=float(final.mean()),
                       diversity=float(final.std()), midpoint=(LOW + HIGH) / 2)

    # -- one step ------------------------------------------------------------------------------
    async def dyad(self, sim: Sim) -> None:
        """One speaker posts, one listener reads and reports (the paper's step)."""
        pair = self.draw_dyad(sim)
        if pair is None:
            return
        speaker, listener = pair
        post = await sim.ask(speaker, self.post_question(sim, speaker))
        sim.emit(Posted(actor=speaker, target=listener, text=post,
                        opinion=self.opinions[speaker]))
        heard = (Heard(author=speaker, text=post, opinion=self.opinions[speaker]),)
        opinion = await sim.ask(listener, self.report_question(sim, listener, heard))
        self.settle(sim, listener, heard, opinion)
        await self.remember(sim, {speaker: f'You posted: {quoted(post)}',
                                  listener: self.read_note(heard, opinion)})
        self.rewire(sim, listener, heard)

    async def round(self, sim: Sim) -> None:
        """Everyone posts, then everyone reads `feed` posts from its sources and reports."""
        posts = await sim.ask_all({a: self.post_question(sim, a) for a in self.agents})
        for author in self.agents:
            sim.emit(Posted(actor=author, text=posts[author], opinion=self.opinions[author]))
        feeds: dict[str, tuple[Heard, ...]] = {}
        for agent in self.agents:
            authors = self.feed(sim, agent)
            if authors:
                feeds[agent] = tuple(Heard(author=a, text=posts[a], opinion=self.opinions[a])
                                     for a in authors)
        reports = await sim.ask_all({a: self.report_question(sim, a, heard)
                                     for a, heard in feeds.items()})
        for agent, heard in feeds.items():
            self.settle(sim, agent, heard, reports[agent])
        notes = {a: f'You posted: {quoted(posts[a])}' + (
            " " + self.read_note(feeds[a], reports[a]) if a in feeds else "")
            for a in self.agents}
        await self.remember(sim, notes)
        for agent, heard in feeds.items():
            self.rewire(sim, agent, heard)

    # -- questions -----------------------------------------------------------------------------
    def post_question(self, sim: Sim, agent: str) -> Text:
        """Write a post reflecting your honest belief."""
        view = SpeakView(name=self.display(sim, agent), claim=self.claim,
                         own=self.opinions[agent], anchor=self.anchors[agent], low=LOW, high=HIGH,
                         reflection=self.reflections[agent])
        fallback = f"I {stance_words(view.own, LOW, HIGH)} the claim that {self.claim}."
        return Text(name="post", prompt=PROMPTS.lazy("post", view=view, levels=LEVELS,
                                                     words=self.config.post_words),
                    view=view, max_words=self.config.post_words, fallback=fallback)

    def report_question(self, sim: Sim, agent: str, heard: tuple[Heard, ...]) -> Choice:
        """Your honest belief after reading, on −2..2; a malformed answer keeps the old one."""
        view = UpdateView(name=self.display(sim, agent), claim=self.claim,
                          own=self.opinions[agent], anchor=self.anchors[agent], heard=heard,
                          low=LOW, high=HIGH, reflection=self.reflections[agent])
        return Choice(name="report", prompt=PROMPTS.lazy("report", view=view, levels=LEVELS),
                      view=view, options=list(range(LOW, HIGH + 1)),
                      reasoning=self.config.reasoning, fallback=int(self.opinions[agent]))

    # -- bookkeeping ---------------------------------------------------------------------------
    def settle(self, sim: Sim, agent: str, heard: tuple[Heard, ...], opinion: Any) -> None:
        """Record a report and make it the agent's opinion."""
        previous = self.opinions[agent]
        self.opinions[agent] = float(opinion)
        sim.emit(Reported(actor=agent, opinion=float(opinion), previous=previous,
                          heard=[h.author for h in heard]))

    def read_note(self, heard: tuple[Heard, ...], opinion: Any) -> str:
        """What a reader remembers of one reading."""
        texts = " ".join(h.quoted for h in heard)
        label = LEVELS[int(opinion)]
        return (f"You read {'a post' if len(heard) == 1 else 'posts'} from "
                f"{'a stranger' if len(heard) == 1 else 'strangers'}: {texts} Afterwards your "
                f"belief about XYZ was {label} ({int(opinion)}).")

    async def remember(self, sim: Sim, notes: dict[str, str]) -> None:
        """Cumulative: add each note to memory. Reflective: each agent rewrites its reflection."""
        if self.config.memory == "cumulative":
            for agent, note in notes.items():
                sim.tell(agent, note)
            return
        questions = {}
        for agent, note in notes.items():
            view = ReflectView(name=self.display(sim, agent), claim=self.claim,
                               previous=self.reflections[agent], happened=note)
            questions[agent] = Text(
                name="reflect", prompt=PROMPTS.lazy("reflect", view=view,
                                                    words=self.config.reflection_words),
                view=view, max_words=self.config.reflection_words,
                fallback=self.reflections[agent] or note)
        reflections = await sim.ask_all(questions)
        for agent, text in reflections.items():
            self.reflections[agent] = text
            sim.emit(Reflected(actor=agent, text=text))

    def survey(self, sim: Sim) -> None:
        """Record every agent's current opinion."""
        for agent in self.agents:
            sim.emit(Surveyed(actor=agent, opinion=self.opinions[agent]))

    # -- the network ---------------------------------------------------------------------------
    def draw_dyad(self, sim: Sim) -> tuple[str, str] | None:
        """(speaker, listener): a random listener that hears somebody, and one of its sources."""
        if sim.graph is None:
            i, j = sim.rng.choice(len(self.agents), size=2, replace=False)
            return self.agents[int(j)], self.agents[int(i)]
        hearing = [a for a in self.agents if sim.graph.has_node(a) and sources(sim.graph, a)]
        if not hearing:
            return None
        listener = hearing[int(sim.rng.integers(len(hearing)))]
        options = sources(sim.graph, listener)
        return options[int(sim.rng.integers(len(options)))], listener

    def feed(self, sim: Sim, agent: str) -> list[str]:
        """The authors whose posts `agent` reads this round."""
        if sim.graph is None:
            others = len(self.agents) - 1
            take = others if self.config.feed == 0 else min(self.config.feed, others)
            index = self.position[agent]
            picks = sim.rng.choice(others, size=take, replace=False)
            return [self.agents[int(p) + (p >= index)] for p in picks]
        options = sources(sim.graph, agent) if sim.graph.has_node(agent) else []
        if self.config.feed == 0 or len(options) <= self.config.feed:
            return options
        picks = sim.rng.choice(len(options), size=self.config.feed, replace=False)
        return [options[int(p)] for p in picks]

    def rewire(self, sim: Sim, listener: str, heard: tuple[Heard, ...]) -> None:
        """Unfollow far-away authors (and follow someone new) when `unfollow` is set."""
        cfg = self.config
        if cfg.unfollow is None or sim.graph is None:
            return
        for h in heard:
            if abs(self.opinions[listener] - h.opinion) < cfg.unfollow:
                continue
            if unlink(sim, h.author, listener, reason="unfollow") and cfg.refollow:
                heard_now = set(sources(sim.graph, listener)) | {listener, h.author}
                candidates = [a for a in self.agents if a not in heard_now]
                if candidates:
                    new = candidates[int(sim.rng.integers(len(candidates)))]
                    link(sim, new, listener, reason="refollow")

    @staticmethod
    def display(sim: Sim, agent: str) -> str:
        """The name an agent goes by: its persona's ``name``, else its id."""
        return str(sim.agents[agent].persona.get("name", agent))

"""Small-group debates with private and public opinions (DEBATE, Chuang et al. 2025).

After arXiv:2510.25110 and its dataset (huggingface.co/datasets/seantw/DEBATE_LLM): human groups
of four discussed a statement over three rounds, each person rating it privately on a 1–6
Likert scale at the start and as the rounds went on; LLM "digital twin" groups converge much
more than the humans did (ΔSD clearly below 0 where people stay near 0).

Groups
    The population is shuffled (``sim.rng``) and cut into groups of ``group_size`` (4; even, and
    dividing ``population.size``). Each agent starts from an opinion drawn from ``initial``
    (default: the levels 1..6 spread evenly), stated in its prompts as its view before the
    discussion.

Round (``rounds``, default 3)
    Pairing: round r uses the r-th perfect matching of a round-robin within each group, so in
    three rounds of a group of four everyone meets everyone once.
    ``tweet``: each member writes a short public post to its partner, with the stance the post
    expresses (1–6).
    ``message``: the pair chats, ``chat_turns`` messages each, alternating, partner order fixed.
    ``rate``: each member privately rates the statement again (1–6).
    Every group plays every phase together, so all groups' questions are batched.

Private and public
    Private ratings are ``rated`` events (round 0 is the rating before the discussion; round r
    the rating after round r, which is also the one before round r + 1). The public transcript
    is ``tweeted`` (post, stance, to whom) and ``messaged`` (chat) events. Every agent remembers
    what it wrote and read (agent memory), never another's private rating.

Mixed groups
    Members in ``population.groups`` with a strategy are classical updaters (``degroot``,
    ``friedkin_johnsen``, ``hegselmann_krause``, ``deffuant``, ``voter``, ``stubborn``): after a
    round they update from their partner's stated post stance and report on the 1–6 scale.

Metrics (``analysis.opinion``)
    ΔSD_g = SD_final − SD_initial of each group, for the private ratings and for the public post
    stances (first round's posts against the last round's), and their means over groups.

Deviations from DEBATE
    The chat has a fixed number of turns; the public stance is stated by the post's author, not
    scored by a classifier; the rating before round r + 1 is the rating after round r.

Version history
    1: DEBATE's protocol, mixed groups of classical updaters.
    2: another member's words (posts in ``rate``, posts and chat messages in memory) are shown
       as one JSON string literal (``views.quoted``), with a note that they are quoted exactly,
       instead of pasted inside plain double quotes: a line break or a quote in a post can no
       longer end the quote and start a prompt line of its own (a fake instruction). The words,
       and everything else a member is told, are unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from societas.agents import Agent
from societas.scenarios._templates import Prompts
from societas.scenarios.opinion.initial import Initial, Levels, check_scale
from societas.scenarios.opinion.strategies import UPDATERS, stance_words
from societas.scenarios.opinion.views import Heard, SpeakView, UpdateView, quoted
from societas.simulator.scenario import (
    Choice,
    ConfigError,
    Event,
    Form,
    Outcome,
    PopulationConfig,
    Question,
    RunConfig,
    Scenario,
    Sim,
    Text,
)

PROMPTS = Prompts(__file__)
LOW, HIGH = 1, 6
SCALE = {1: "strongly disagree", 2: "disagree", 3: "slightly disagree", 4: "slightly agree",
         5: "agree", 6: "strongly agree"}


class DebateConfig(BaseModel):
    """Parameters of the debate (defaults follow DEBATE's protocol)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str = "Social media does more harm than good to society."
    group_size: int = Field(default=4, ge=2)
    rounds: int = Field(default=3, ge=1)
    chat_turns: int = Field(default=1, ge=0,
                            description="chat messages each partner sends per round")
    initial: Initial = Levels(values=[1, 2, 3, 4, 5, 6])
    reasoning: bool = True
    tweet_words: int = Field(default=60, ge=5)
    message_words: int = Field(default=50, ge=5)

    @model_validator(mode="after")
    def _even_groups(self) -> DebateConfig:
        if self.group_size % 2:
            raise ValueError(f"group_size must be even (members debate in pairs), got "
                             f"{self.group_size}")
        check_scale(self.initial, LOW, HIGH, integer=True)
        return self


class Tweet(BaseModel):
    """A public post to the round's partner and the stance it expresses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str = Field(min_length=1, max_length=480)  # shown to models as "at most 60 words"
    stance: int = Field(ge=LOW, le=HIGH)


# -- events ----------------------------------------------------------------------------------------
class Grouped(Event):
    """A debate group and its members."""

    kind: ClassVar[str] = "grouped"
    group: int
    members: list[str]


class Rated(Event):
    """A private 1–6 rating: round 0 before the discussion, round r after round r."""

    kind: ClassVar[str] = "rated"
    group: int
    round: int
    rating: int


class Tweeted(Event):
    """A public post to the round's partner (target), with its stated stance."""

    kind: ClassVar[str] = "tweeted"
    group: int
    round: int
    message: str
    stance: int


class Messaged(Event):
    """A public chat message to the round's partner (target)."""

    kind: ClassVar[str] = "messaged"
    group: int
    round: int
    turn: int
    message: str


def matching(members: list[str], round_index: int) -> list[tuple[str, str]]:
    """The `round_index`-th perfect matching of a round-robin (circle method) over `members`."""
    n = len(members)
    r = round_index % (n - 1)
    ring = [members[0], *(members[1 + (i + r) % (n - 1)] for i in range(n - 1))]
    return [(ring[i], ring[n - 1 - i]) for i in range(n // 2)]


# -- the debate ------------------------------------------------------------------------------------
class Debate(Scenario):
    """Groups discuss a statement in pairs over rounds; private ratings before and after."""

    name = "debate"
    Config = DebateConfig
    strategies = UPDATERS
    make_agent = staticmethod(Agent.from_spec)
    events = (Grouped, Rated, Tweeted, Messaged)
    questions = frozenset({"rate", "tweet", "message"})
    smoke: ClassVar[dict[str, Any]] = {"scenario": {"rounds": 2}, "population": {"size": 8}}

    config: DebateConfig

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        assert isinstance(config, DebateConfig)
        return 1 + config.rounds * (2 + 2 * config.chat_turns)  # ratings, tweets, chat turns

    @classmethod
    def answer_shapes(cls, config: BaseModel) -> dict[str, Question[Any]]:
        """The shapes of the questions, for checking fixed answers when a run is planned."""
        assert isinstance(config, DebateConfig)
        return {"rate": Choice(name="rate", prompt="", options=list(range(LOW, HIGH + 1))),
                "tweet": Form(name="tweet", prompt="", model=Tweet,
                              limits={"message": (1, 8 * config.tweet_words)}),
                "message": Text(name="message", prompt="", max_words=config.message_words)}

    @classmethod
    def check_population(cls, config: BaseModel, population: PopulationConfig) -> None:
        size = getattr(config, "group_size", 4)
        if population.size % size:
            raise ConfigError("population.size", f"the debate splits agents into groups of "
                              f"{size}, so population.size must be a multiple of {size} "
                              f"(got {population.size})")

    async def run(self, sim: Sim) -> Outcome:
        cfg = self.config
        agents = [sim.agents.ids[i] for i in sim.rng.permutation(len(sim.agents))]
        self.groups = [agents[i : i + cfg.group_size]
                       for i in range(0, len(agents), cfg.group_size)]
        self.group_of = {a: g for g, members in enumerate(self.groups) for a in members}
        start = cfg.initial.draw(len(agents), sim.rng)
        self.anchors = dict(zip(agents, start.tolist(), strict=True))
        self.ratings = dict(self.anchors)
        sim.brief(agents, PROMPTS.render("system", statement=cfg.statement,
                                         group_size=cfg.group_size, rounds=cfg.rounds,
                                         scale=SCALE))
        for g, members in enumerate(self.groups):
            sim.emit(Grouped(group=g, members=members))
        await self.rate(sim, round_number=0, heard={})
        for round_number in range(1, cfg.rounds + 1):
            pairs = [p for members in self.groups for p in matching(members, round_number - 1)]
            heard = await self.tweet(sim, round_number, pairs)
            await self.chat(sim, round_number, pairs)
            await self.rate(sim, round_number, heard)
        final = np.array([self.ratings[a] for a in agents])
        return Outcome(statement=cfg.statement, groups=len(self.groups),
                       mean_rating=float(final.mean()), midpoint=(LOW + HIGH) / 2)

    async def tweet(self, sim: Sim, round_number: int, pairs: list[tuple[str, str]]
                    ) -> dict[str, Heard]:
        """Each member posts to its partner; returns what each member read."""
        sim.advance("tweet")
        partner = {a: b for x, y in pairs for a, b in ((x, y), (y, x))}
        posts = await sim.ask_all({a: self.tweet_question(sim, a, partner[a], round_number)
                                   for a in partner})
        heard: dict[str, Heard] = {}
        for author, post in posts.items():
            reader = partner[author]
            sim.emit(Tweeted(actor=author, target=reader, group=self.group_of[author],
                             round=round_number, message=post.message, stance=post.stance))
            sim.tell(author, f'Round {round_number}: you posted to {self.display(sim, reader)}: '
                             f'{quoted(post.message)}')
            sim.tell(reader, f'Round {round_number}: {self.display(sim, author)} posted to you: '
                             f'{quoted(post.message)}')
            heard[reader] = Heard(author=self.display(sim, author), text=post.message,
                                  opinion=post.stance)
        return heard

    async def chat(self, sim: Sim, round_number: int, pairs: list[tuple[str, str]]) -> None:
        """Partners alternate chat messages, `chat_turns` each; every pair at once."""
        for turn in range(1, 2 * self.config.chat_turns + 1):
            sim.advance("message")
            speaking = {(a if turn % 2 else b): (b if turn % 2 else a) for a, b in pairs}
            said = await sim.ask_all({a: self.message_question(sim, a, to, round_number)
                                      for a, to in speaking.items()})
            for author, text in said.items():
                reader = speaking[author]
                sim.emit(Messaged(actor=author, target=reader, group=self.group_of[author],
                                  round=round_number, turn=turn, message=text))
                sim.tell(author, f'Round {round_number}: you said to '
                                 f'{self.display(sim, reader)}: {quoted(text)}')
                sim.tell(reader, f'Round {round_number}: {self.display(sim, author)} said to '
                                 f'you: {quoted(text)}')

    async def rate(self, sim: Sim, round_number: int, heard: dict[str, Heard]) -> None:
        """Every member rates the statement privately."""
        sim.advance("rate")
        ratings = await sim.ask_all({a: self.rate_question(sim, a, round_number, heard.get(a))
                                     for a in self.ratings})
        for agent, rating in ratings.items():
            self.ratings[agent] = float(rating)
            sim.emit(Rated(actor=agent, group=self.group_of[agent], round=round_number,
                           rating=int(rating)))

    # -- questions -----------------------------------------------------------------------------
    def rate_question(self, sim: Sim, agent: str, round_number: int,
                      heard: Heard | None) -> Choice:
        """Private 1–6 rating; a malformed answer keeps the previous rating."""
        view = UpdateView(name=self.display(sim, agent), claim=self.config.statement,
                          own=self.ratings[agent], anchor=self.anchors[agent],
                          heard=(heard,) if heard else (), low=LOW, high=HIGH)
        return Choice(name="rate", prompt=self.prompt("rate", view, round_number), view=view,
                      options=list(range(LOW, HIGH + 1)), reasoning=self.config.reasoning,
                      fallback=int(self.ratings[agent]))

    def tweet_question(self, sim: Sim, agent: str, partner: str, round_number: int) -> Form:
        """A public post to the partner with its stance."""
        view = self.speak_view(sim, agent, partner)
        fallback = Tweet(message=self.plain(view), stance=int(self.ratings[agent]))
        return Form(name="tweet", prompt=self.prompt("tweet", view, round_number,
                                                     words=self.config.tweet_words),
                    view=view, model=Tweet, fallback=fallback,
                    limits={"message": (1, 8 * self.config.tweet_words)})

    def message_question(self, sim: Sim, agent: str, partner: str, round_number: int) -> Text:
        """The next chat message to the partner."""
        view = self.speak_view(sim, agent, partner)
        return Text(name="message", prompt=self.prompt("message", view, round_number,
                                                       words=self.config.message_words),
                    view=view, max_words=self.config.message_words, fallback=self.plain(view))

    def speak_view(self, sim: Sim, agent: str, partner: str) -> SpeakView:
        """What a member knows when speaking to `partner`."""
        return SpeakView(name=self.display(sim, agent), claim=self.config.statement,
                         own=self.ratings[agent], anchor=self.anchors[agent], low=LOW,
                         high=HIGH, audience=self.display(sim, partner))

    def prompt(self, verb: str, view: BaseModel, round_number: int, **extra: Any) -> Any:
        """The lazy prompt of `verb`."""
        return PROMPTS.lazy(verb, view=view, round=round_number, rounds=self.config.rounds,
                            statement=self.config.statement, scale=SCALE, **extra)

    @staticmethod
    def plain(view: SpeakView) -> str:
        """A plain statement of the speaker's position (the fallback message)."""
        return f"I {stance_words(view.own, view.low, view.high)} the claim that {view.claim}"

    @staticmethod
    def display(sim: Sim, agent: str) -> str:
        """The name an agent goes by: its persona's ``name``, else its id."""
        return str(sim.agents[agent].persona.get("name", agent))

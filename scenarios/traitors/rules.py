"""The Traitors, following Curvo (2025) and its released code.

Source
    P. Curvo, "The Traitors: Deception and Trust in Multi-Agent Language Model Simulations",
    arXiv:2505.12923; code at github.com/pedrocurvo/TheTraitors.

Players and roles
    ``population.size`` players (10 by default), ``traitors`` of them (3) Traitors who know each
    other; the others are Faithfuls, who know only how many Traitors there are. Roles are dealt
    at random; ``fixed_roles`` pins roles to agent ids.

Introductions
    When agents have personas (and ``introductions`` is on), each persona is announced and every
    player writes a note about the others before round 1.

Round (``discuss, vote, banish, react, plot, murder, winner``)
    discuss
        Pass 1: every alive player, in seat order, speaks on the round's topic (six topics in
        rotation) and hears those who spoke before. Pass 2: everyone reacts to pass 1 (five
        reaction prompts in rotation). Then everyone writes a summary into memory (four prompts
        in rotation). ``discussion_passes`` keeps one pass or none.
    vote
        Every alive player, Traitors included, names a player to banish. Self-votes are allowed
        as in the reference code (``banishment.self_vote``).
    banish
        The plurality target is banished; a tie goes to the target that received its first vote
        earliest (the reference code's ``max(votes, key=votes.get)``; ``banishment.tie_break``
        may choose ``random`` or ``no_elimination``). The banished player's role is revealed.
    react
        After a banishment every alive player, in seat order, reacts to the revealed role,
        hearing the reactions before it; then everyone writes a summary.
    plot
        The secret Traitor meeting: each alive Traitor proposes a target, hearing the proposals
        before it; then each states its conclusion having heard all proposals. The meeting is
        kept in each Traitor's private memory. Skipped when no Traitor is left.
    murder
        Each alive Traitor votes for an alive Faithful; the plurality target is murdered (ties
        to the first-voted target, ``murder``). Everyone is told who was murdered, never the
        role (a victim is always a Faithful, but nobody is told).
    winner
        Checked only at the end of the round: no Traitor left, Faithfuls win; Traitors at least
        as many as Faithfuls, Traitors win. So a banishment that leaves the Traitors at parity
        still lets them murder before the check, and a game never ends mid-round.

Memory and prompts
    The briefing (rules, then role and fellow Traitors) is the shared system prompt; the persona
    follows. Each question starts with the player's memory: its agent's memory channels
    ``announcements``, ``observations`` (private facts such as the secret meeting) and
    ``summaries`` (its own notes), each keeping its last entries (default bounds in
    `social_deduction.MEMORY_CHANNELS`; ``population.memory`` sets them, an int for all or e.g.
    ``{summaries: 1}``). Then the state, the talk it responds to, then the question. Speeches
    are quoted data under the speaker's name; only the rules write announcements, observations
    and the game state.

Deviations from the released code
    Answers are constrained: a vote is always an alive player (the reference takes the first
    number in free text, so invalid or eliminated ids are possible and then banish nobody).
    Speeches are JSON ``{"say": ...}`` instead of free text between ``---`` delimiters. The
    round-table vote prompt also shows the round's discussion (the reference shows only the
    player's memory, which holds its summary of it). The murder of round r is announced right
    away (the reference writes it to everyone's memory at
    once and repeats it at the start of the next discussion). ``max_rounds`` ends a game as a
    draw (winner None); the reference has no bound.

Events
    ``role_assigned``, ``announced``, ``discussed``, ``reacted``, ``summarized``, ``voted``
    (ballot ``banish`` or ``murder``), ``banished`` (with the revealed role), ``plotted``
    (secret), ``murdered`` (no role); the outcome has the winner and the rounds played.

Metrics (``analysis.traitors``)
    Win rate by side, role and policy with 95% intervals; game length; TSR, FSR, FCR, FAS, TAS,
    DES (night unanimity as the code computes it, and day manipulation as the paper words it),
    BRR, VSF and TNS.

Version history
    1: Curvo (2025) rules with configurable ballots.
    2: memory bounds move from ``scenario.memory`` to ``population.memory`` (same defaults;
       default games play and prompt exactly as in version 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from societas.agents import Agent
from societas.scenarios.social_deduction import (
    MEMORY_CHANNELS,
    Announced,
    Line,
    RoleAssigned,
    Summarized,
    Voted,
    announce,
    decide,
    open_table,
    parity_winner,
    poll,
    record_roles,
)
from societas.scenarios.social_deduction.kernels import deal_roles
from societas.scenarios.traitors.config import TraitorsConfig
from societas.scenarios.traitors.events import Banished, Discussed, Murdered, Plotted, Reacted
from societas.scenarios.traitors.questions import Questions
from societas.scenarios.traitors.roles import FAITHFUL, FAITHFULS, SIDES, TITLES, TRAITOR, TRAITORS
from societas.scenarios.traitors.strategies import BASELINES
from societas.simulator.scenario import (
    ConfigError,
    Outcome,
    PopulationConfig,
    RunConfig,
    Scenario,
    Sim,
)


class Traitors(Scenario):
    """The Traitors: round-table banishments by day, secret murders by night."""

    name = "traitors"
    Config = TraitorsConfig
    strategies = BASELINES
    make_agent = staticmethod(Agent.from_spec)
    events = (RoleAssigned, Announced, Voted, Summarized, Discussed, Reacted, Banished, Plotted,
              Murdered)
    questions = frozenset({"introduce", "discuss", "react", "summarize", "vote", "plot",
                           "murder"})
    memory_channels: ClassVar[Mapping[str, int]] = MEMORY_CHANNELS
    """A player's memory (see `social_deduction.MEMORY_CHANNELS`; ``population.memory``)."""
    smoke: ClassVar[dict[str, Any]] = {"population": {"size": 10}}

    config: TraitorsConfig

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        assert isinstance(config, TraitorsConfig)
        # introductions, then per round: two discussion passes and notes, the vote, reactions
        # and notes, the secret meeting's two stages and the murder
        return 1 + config.max_rounds * 9

    @classmethod
    def check_population(cls, config: BaseModel, population: PopulationConfig) -> None:
        assert isinstance(config, TraitorsConfig)
        if config.traitors >= population.size:
            raise ConfigError("scenario.traitors", f"{config.traitors} traitors need more than "
                              f"{config.traitors} players (population.size is "
                              f"{population.size})")

    async def run(self, sim: Sim) -> Outcome:
        self.deal(sim)
        if self.config.introductions and any(sim.agents[p].persona for p in sim.agents):
            await self.introduce(sim)
        winner = None
        while self.table.round < self.config.max_rounds:
            self.table.round += 1
            heard = await self.discuss(sim)
            banished = self.banish(sim, await self.vote(sim, heard))
            if banished and self.config.post_banishment_discussion:
                await self.react(sim, banished)
            if self.table.count(TRAITORS):
                await self.murder(sim, await self.plot(sim))
            if winner := self.winner():
                break
        return Outcome(winner=winner, rounds=self.table.round,
                       ended_after="round" if winner else "max_rounds",
                       survivors=list(self.table.alive))

    # -- setup ---------------------------------------------------------------------------------
    def deal(self, sim: Sim) -> None:
        """Deal roles, brief every player on the rules and its role, log the roles."""
        cfg = self.config
        sim.enter("deal")
        counts = {TRAITOR: cfg.traitors, FAITHFUL: len(sim.agents) - cfg.traitors}
        roles = deal_roles(sim.agents.ids, counts, sim.rng, cfg.fixed_roles)
        self.table = open_table(sim, roles, SIDES)
        traitors = self.table.members(TRAITORS, alive=False)
        teams = {t: [o for o in traitors if o != t] for t in traitors}
        self.revealed: set[str] = set()
        self.ask = Questions(cfg, self.table, teams, self.revealed)
        for player in self.table.players:
            sim.brief(player, self.ask.briefing(player))
        record_roles(sim, self.table, teams)

    async def introduce(self, sim: Sim) -> None:
        """Announce every persona; each player notes its thoughts on the others."""
        sim.advance(phase="introduce")
        for player in self.table.players:
            if sim.agents[player].persona:
                announce(sim, self.table, self.ask.introduction(player,
                                                                sim.agents[player].persona))
        await self.summarize(sim, (), verb="introduce")

    # -- day -----------------------------------------------------------------------------------
    async def discuss(self, sim: Sim) -> tuple[Line, ...]:
        """Pass 1 in seat order on the topic, pass 2 reactions all at once, then summaries."""
        cfg, table = self.config, self.table
        heard: list[Line] = []
        if cfg.discussion_passes >= 1:
            sim.advance(phase="discuss")
            for position, player in enumerate(table.alive):
                speech = await sim.ask(player, self.ask.discuss(player, tuple(heard), position))
                heard.append(table.speak(player, speech.say))
                sim.emit(Discussed(actor=player, round=table.round, say=speech.say,
                                   topic=self.ask.topic))
        first_pass = tuple(heard)
        if cfg.discussion_passes >= 2:
            sim.advance(phase="discuss")
            reactions = await sim.ask_all({p: self.ask.react(p, first_pass, i)
                                           for i, p in enumerate(table.alive)})
            for player, speech in reactions.items():
                heard.append(table.speak(player, speech.say))
                sim.emit(Reacted(actor=player, round=table.round, after="discussion",
                                 say=speech.say))
        if cfg.summaries and heard:
            await self.summarize(sim, tuple(heard))
        return tuple(heard)

    async def vote(self, sim: Sim, heard: tuple[Line, ...]) -> dict[str, str]:
        """Every alive player names a player to banish."""
        sim.advance(phase="vote")
        table = self.table
        questions = {p: self.ask.vote(p, heard) for p in table.alive}
        return await poll(sim, table, questions, ballot="banish")

    def banish(self, sim: Sim, votes: dict[str, str]) -> str | None:
        """Banish the plurality target (ties by `banishment.tie_break`); reveal its role."""
        sim.enter("banish")
        rules, table = self.config.banishment, self.table
        verdict = decide(votes, majority=rules.majority, tie_break=rules.tie_break,
                         electorate=len(table.alive), rng=sim.rng)
        banished = verdict.chosen
        role = table.roles[banished] if banished else None
        sim.emit(Banished(target=banished, round=table.round, role=role, counts=verdict.counts,
                          reason=verdict.reason))
        if banished is None:
            announce(sim, table, "The round table did not agree on anyone; nobody was banished.")
            return None
        table.eliminate(banished)
        self.revealed.add(banished)
        announce(sim, table, f"{banished} was banished at the round table. {banished} was a "
                 f"{TITLES[table.roles[banished]]}.")
        return banished

    async def react(self, sim: Sim, banished: str) -> None:
        """Everyone, in seat order, reacts to the revealed role; then summaries."""
        sim.advance(phase="react")
        table, heard = self.table, []
        for position, player in enumerate(table.alive):
            question = self.ask.react(player, tuple(heard), position, banished=banished)
            speech = await sim.ask(player, question)
            heard.append(table.speak(player, speech.say))
            sim.emit(Reacted(actor=player, round=table.round, after="banishment",
                             say=speech.say))
        if self.config.summaries:
            await self.summarize(sim, tuple(heard), banished=banished)

    async def summarize(self, sim: Sim, heard: tuple[Line, ...], *, verb: str = "summarize",
                        banished: str | None = None) -> None:
        """Every alive player writes what it heard into its memory."""
        sim.advance(phase=verb)
        table = self.table
        notes = await sim.ask_all({p: self.ask.summarize(p, heard, verb, banished)
                                   for p in table.alive})
        for player, note in notes.items():
            table.note(player, note.summary)
            sim.emit(Summarized(actor=player, round=table.round, summary=note.summary))

    # -- night ---------------------------------------------------------------------------------
    async def plot(self, sim: Sim) -> tuple[Line, ...]:
        """The secret meeting: proposals in seat order, then every Traitor's conclusion."""
        sim.advance(phase="plot")
        table = self.table
        traitors = table.members(TRAITORS)
        meeting: list[Line] = []
        for position, traitor in enumerate(traitors):
            speech = await sim.ask(traitor, self.ask.plot(traitor, tuple(meeting), position))
            meeting.append(Line(table.round, traitor, speech.say))
            sim.emit(Plotted(actor=traitor, round=table.round, stage="proposal",
                             say=speech.say))
        proposals = tuple(meeting)
        sim.advance(phase="plot")
        conclusions = await sim.ask_all({t: self.ask.plot(t, proposals, i, consensus=True)
                                         for i, t in enumerate(traitors)})
        for traitor, speech in conclusions.items():
            meeting.append(Line(table.round, traitor, speech.say))
            sim.emit(Plotted(actor=traitor, round=table.round, stage="consensus",
                             say=speech.say))
        for line in meeting:
            table.observe(traitors, f"In the secret meeting, {line.speaker} said: {line.quoted}")
        return tuple(meeting)

    async def murder(self, sim: Sim, meeting: tuple[Line, ...]) -> None:
        """Each alive Traitor votes for a Faithful; the plurality target is murdered."""
        sim.advance(phase="murder")
        rules, table = self.config.murder, self.table
        traitors, faithfuls = table.members(TRAITORS), table.members(FAITHFULS)
        questions = {t: self.ask.murder(t, faithfuls, meeting) for t in traitors}
        votes = await poll(sim, table, questions, ballot="murder")
        verdict = decide(votes, majority=rules.majority, tie_break=rules.tie_break,
                         electorate=len(traitors), rng=sim.rng)
        sim.emit(Murdered(target=verdict.chosen, round=table.round, counts=verdict.counts,
                          reason=verdict.reason))
        if verdict.chosen is None:
            announce(sim, table, "Nobody was murdered during the night.")
            return
        table.eliminate(verdict.chosen)
        table.observe(traitors, f"We murdered {verdict.chosen}. Act surprised when it is "
                      "announced.")
        announce(sim, table, f"{verdict.chosen} was murdered by the Traitors during the night.")

    def winner(self) -> str | None:
        """End of round only: the winning side by parity, or None."""
        table = self.table
        return parity_winner(table.count(TRAITORS), table.count(FAITHFULS), evil=TRAITORS,
                             good=FAITHFULS)

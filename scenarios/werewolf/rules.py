"""Werewolf, following Werewolf Arena (Bailis, Friedhoff & Chen 2024, arXiv:2407.13943).

Players and roles
    ``scenario.roles`` deals the cards; the default is Werewolf Arena's 8 players: 2 werewolves,
    a seer, a doctor and 4 villagers. The werewolves know each other; nobody else knows any role
    but their own. The catalogue (`roles.py`) also has the guard and the witch (§3.3 of the
    research notes), so ``roles={werewolf: 2, seer: 1, witch: 1, guard: 1, villager: 2}`` plays
    a 7-player variant. ``fixed_roles`` pins roles to agent ids (e.g. the model plays the wolves).

Round (``night, dawn, winner, debate, vote, exile, winner, summarize``)
    night
        One alive werewolf, drawn at random, picks a victim among the non-werewolves. At the
        same time the doctor protects any alive player, itself included; the guard guards any
        alive player but the one it guarded the night before; the seer inspects an alive player
        it has not inspected yet (never itself) and privately learns that player's role. The
        witch then hears who was attacked and may spend her single healing potion on them, then
        (if she did not heal tonight) her single poison on anyone.
    dawn
        The victim dies unless protected, guarded or healed; the poisoned player dies. The
        moderator announces each death without the role, or that no one was removed.
    winner
        Werewolves win when they are at least as many as everyone else; villagers win when no
        werewolf is left. Checked after the night and after the day.
    debate
        Up to ``debate_turns`` (8) speaking turns. Before each turn every alive player except
        the previous speaker bids 0–4 (observe, general thoughts, something critical, urgent,
        addressed directly); the highest bid speaks, ties drawn at random. A speech is
        ``{reasoning, say}``; everyone hears ``say``.
    vote
        Every alive player votes to exile someone other than itself. With
        ``synthetic_votes=true`` a straw poll is also taken after every debate turn (logged with
        ``final=false``; only the vote after the last turn counts).
    exile
        Exile needs a strict majority of alive players (``vote.majority=strict``); otherwise
        nobody leaves. ``vote.majority=plurality`` with ``vote.tie_break`` is the alternative.
        The exiled player's role is not announced.
    summarize
        If the game goes on, every alive player writes a summary of the day into memory.

Memory and prompts
    The briefing (rules, then role and teammates) is the shared system prompt; the persona
    follows. Each question's prompt starts with the player's memory: its agent's memory
    channels ``announcements`` (moderator lines), ``observations`` (private facts) and
    ``summaries`` (its own notes), each keeping its last entries (default bounds in
    `social_deduction.MEMORY_CHANNELS`; ``population.memory`` sets them, an int for all or e.g.
    ``{summaries: 1}``). Then the state and today's debate, then the question. Speeches appear
    as quoted strings under the speaker's name and never enter announcements, observations or
    the game state.

Decisions per game and defaults chosen here
    Werewolf Arena collects a full synthetic vote after every debate turn
    (``RUN_SYNTHETIC_VOTES = True``). That is 8 extra votes per turn and more than doubles the
    decisions of a day, while only the last vote counts; the default here is off (the final vote
    only), and ``synthetic_votes=true`` restores the paper's vote-dynamics data.

Deviations from the released code
    Rounds count from 1 (the code counts from 0). Answers are constrained to legal options, so
    an invalid name is retried and then replaced by a random legal one instead of aborting the
    game. Werewolf Arena removes the attacked player from everyone's player list even when the
    doctor saved them (a bug); here a saved player stays in the game and in every list.
    ``max_rounds`` ends a game that could otherwise go on forever as a draw (winner None).

Events
    ``role_assigned``, ``attacked``, ``protected``, ``guarded``, ``inspected``, ``healed``,
    ``poisoned``, ``killed``, ``announced``, ``bid`` (one per turn, all bids), ``debated``,
    ``voted`` (ballot ``exile``), ``exiled``, ``summarized``; the outcome has the winner, the
    rounds played and when the game ended.

Metrics (``analysis.werewolf``)
    Win rate by side, role and policy with 95% intervals; game length; vote accuracy of the
    villager side; seer reveal timing; bus rate; voting entropy.

Version history
    1: Werewolf Arena rules, guard and witch roles, configurable ballot.
    2: memory bounds move from ``scenario.memory`` to ``population.memory`` (same defaults;
       default games play and prompt exactly as in version 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from societas.agents import Agent
from societas.scenarios.social_deduction import (
    MEMORY_CHANNELS,
    Announced,
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
from societas.scenarios.werewolf.config import WerewolfConfig
from societas.scenarios.werewolf.events import (
    Attacked,
    Bid,
    Debated,
    Exiled,
    Guarded,
    Healed,
    Inspected,
    Killed,
    Poisoned,
    Protected,
)
from societas.scenarios.werewolf.kernels import (
    attack_options,
    guard_options,
    inspect_options,
    pick_speaker,
    protect_options,
    resolve_night,
)
from societas.scenarios.werewolf.questions import Questions
from societas.scenarios.werewolf.roles import CATALOGUE, SIDES, TITLES, VILLAGERS, WEREWOLVES
from societas.scenarios.werewolf.strategies import BASELINES
from societas.simulator.scenario import (
    ConfigError,
    Outcome,
    PopulationConfig,
    RunConfig,
    Scenario,
    Sim,
)


@dataclass
class Night:
    """What happened tonight, before dawn resolves it."""

    attacked: str | None = None
    protected: set[str] = field(default_factory=set)
    healed: bool = False
    poisoned: str | None = None


class Werewolf(Scenario):
    """Werewolf with bidding debates and a majority exile (Werewolf Arena)."""

    name = "werewolf"
    Config = WerewolfConfig
    strategies = BASELINES
    make_agent = staticmethod(Agent.from_spec)
    events = (RoleAssigned, Announced, Voted, Summarized, Attacked, Protected, Guarded,
              Inspected, Healed, Poisoned, Killed, Bid, Debated, Exiled)
    questions = frozenset({"attack", "protect", "guard", "inspect", "heal", "poison", "bid",
                           "debate", "vote", "summarize"})
    memory_channels: ClassVar[Mapping[str, int]] = MEMORY_CHANNELS
    """A player's memory (see `social_deduction.MEMORY_CHANNELS`; ``population.memory``)."""
    smoke: ClassVar[dict[str, Any]] = {"population": {"size": 8}}

    config: WerewolfConfig

    @classmethod
    def max_steps(cls, config: BaseModel, run: RunConfig) -> int:
        assert isinstance(config, WerewolfConfig)
        turns = config.debate_turns
        straw_polls = turns - 1 if config.synthetic_votes else 0
        return config.max_rounds * (1 + turns + straw_polls + 2)  # night, debate, vote, notes

    @classmethod
    def check_population(cls, config: BaseModel, population: PopulationConfig) -> None:
        assert isinstance(config, WerewolfConfig)
        if population.size != config.players:
            dealt = {role: n for role, n in config.roles.items() if n}
            raise ConfigError("population.size", f"the roles {dealt} need "
                              f"{config.players} players, got {population.size}; set "
                              f"population.size={config.players} or change scenario.roles")

    async def run(self, sim: Sim) -> Outcome:
        self.deal(sim)
        winner, ended = None, "max_rounds"
        while self.table.round < self.config.max_rounds:
            self.table.round += 1
            self.dawn(sim, await self.night(sim))
            if winner := self.winner():
                ended = "night"
                break
            await self.debate(sim)
            self.exile(sim, await self.vote(sim, turn=self.config.debate_turns, final=True))
            if winner := self.winner():
                ended = "day"
                break
            if self.config.summaries:
                await self.summarize(sim)
        return Outcome(winner=winner, rounds=self.table.round, ended_after=ended,
                       survivors=list(self.table.alive))

    # -- setup ---------------------------------------------------------------------------------
    def deal(self, sim: Sim) -> None:
        """Deal roles, brief every player on the rules and its role, log the roles."""
        cfg = self.config
        sim.enter("deal")
        roles = deal_roles(sim.agents.ids, cfg.roles, sim.rng, cfg.fixed_roles)
        self.table = open_table(sim, roles, SIDES)
        self.inspected: dict[str, dict[str, str]] = {p: {} for p in roles if roles[p] == "seer"}
        self.potions: dict[str, set[str]] = {p: {"heal", "poison"} for p in roles
                                             if roles[p] == "witch"}
        self.guarded: dict[str, str | None] = dict.fromkeys(
            (p for p in roles if roles[p] == "guard"), None)
        wolves = self.table.members(WEREWOLVES, alive=False)
        teams = {w: [o for o in wolves if o != w] for w in wolves}
        self.ask = Questions(cfg, self.table, teams, self.inspected)
        for player in self.table.players:
            sim.brief(player, self.ask.briefing(player))
        record_roles(sim, self.table, teams)

    # -- night ---------------------------------------------------------------------------------
    async def night(self, sim: Sim) -> Night:
        """The werewolves attack while the doctor, guards and seers act; then the witch."""
        sim.advance(phase="night")
        table, night = self.table, Night()
        wolves = table.members(WEREWOLVES)
        attacker = wolves[int(sim.rng.integers(len(wolves)))]
        questions = {attacker: self.ask.target(
            attacker, "attack", attack_options(table.alive, wolves), sim.rng)}
        for player in table.alive:
            power = CATALOGUE[table.roles[player]].night
            if power == "protect":
                questions[player] = self.ask.target(
                    player, "protect", protect_options(table.alive), sim.rng)
            elif power == "guard":
                questions[player] = self.ask.target(
                    player, "guard", guard_options(table.alive, self.guarded[player]), sim.rng)
            elif power == "inspect":
                options = inspect_options(table.alive, player, self.inspected[player])
                if options:
                    questions[player] = self.ask.target(player, "inspect", options, sim.rng)
        answers = await sim.ask_all(questions)
        night.attacked = answers.pop(attacker)
        sim.emit(Attacked(actor=attacker, target=night.attacked, round=table.round))
        table.observe(wolves, f"During the night, we decided to attack {night.attacked}.")
        for player, target in answers.items():
            self.act(sim, player, target, night)
        for witch in table.with_role("witch"):
            await self.brew(sim, witch, night)
        return night

    def act(self, sim: Sim, player: str, target: str, night: Night) -> None:
        """Apply a protect, guard or inspect answer."""
        table, role = self.table, self.table.roles[player]
        if role == "doctor":
            night.protected.add(target)
            sim.emit(Protected(actor=player, target=target, round=table.round))
            table.observe(player, f"During the night, I chose to protect {target}.")
        elif role == "guard":
            night.protected.add(target)
            self.guarded[player] = target
            sim.emit(Guarded(actor=player, target=target, round=table.round))
            table.observe(player, f"During the night, I guarded {target}.")
        else:
            found = table.roles[target]
            self.inspected[player][target] = found
            sim.emit(Inspected(actor=player, target=target, round=table.round, role=found))
            table.observe(player, f"During the night, I inspected {target} and learned they "
                          f"are a {TITLES[found]}.")

    async def brew(self, sim: Sim, witch: str, night: Night) -> None:
        """The witch hears the victim, may heal them, else may poison someone."""
        table, potions = self.table, self.potions[witch]
        victim = night.attacked
        if victim is not None:
            table.observe(witch, f"During the night, the werewolves attacked {victim}.")
        if (victim is not None and "heal" in potions
                and await sim.ask(witch, self.ask.heal(witch, victim)) == "yes"):
            potions.discard("heal")
            night.healed = True
            sim.emit(Healed(actor=witch, target=victim, round=table.round))
            table.observe(witch, f"I used my healing potion on {victim}.")
            return
        if "poison" in potions:
            target = await sim.ask(witch, self.ask.poison(witch, sim.rng))
            if target != "nobody":
                potions.discard("poison")
                night.poisoned = target
                sim.emit(Poisoned(actor=witch, target=target, round=table.round))
                table.observe(witch, f"I used my poison on {target}.")

    def dawn(self, sim: Sim, night: Night) -> None:
        """Resolve the night and announce the dead (roles not revealed)."""
        sim.enter("dawn")
        table = self.table
        deaths = resolve_night(night.attacked, night.protected, night.healed, night.poisoned)
        if not deaths:
            announce(sim, table, "No one was removed from the game during the night.")
        for player, cause in deaths:
            table.eliminate(player)
            sim.emit(Killed(target=player, round=table.round, cause=cause))
            text = (f"The Werewolves removed {player} from the game during the night."
                    if cause == "attack" else f"{player} was poisoned during the night.")
            announce(sim, table, text)

    # -- day -----------------------------------------------------------------------------------
    async def debate(self, sim: Sim) -> None:
        """Speaking turns allocated by bids; optionally a straw poll after each turn."""
        cfg, table = self.config, self.table
        previous: str | None = None
        for turn in range(1, cfg.debate_turns + 1):
            sim.advance(phase="debate")
            bidders = [p for p in table.alive if p != previous]
            bids = await sim.ask_all({p: self.ask.bid(p, turn, previous) for p in bidders})
            speaker = pick_speaker(bids, sim.rng)
            sim.emit(Bid(actor=speaker, round=table.round, turn=turn, bids=bids))
            speech = await sim.ask(speaker, self.ask.debate(speaker, turn, previous))
            table.speak(speaker, speech.say)
            sim.emit(Debated(actor=speaker, round=table.round, turn=turn, say=speech.say))
            previous = speaker
            if cfg.synthetic_votes and turn < cfg.debate_turns:
                await self.vote(sim, turn=turn, final=False)

    async def vote(self, sim: Sim, *, turn: int, final: bool) -> dict[str, str]:
        """Every alive player votes whom to exile (a straw poll when not `final`)."""
        sim.advance(phase="vote")
        table = self.table
        questions = {p: self.ask.vote(p, turn, final, sim.rng) for p in table.alive}
        votes = await poll(sim, table, questions, ballot="exile", final=final,
                           turn=turn if not final else None)
        if final:
            for voter, target in votes.items():
                table.observe(voter, f"After the debate, I voted to remove {target}.")
        return votes

    def exile(self, sim: Sim, votes: dict[str, str]) -> None:
        """Exile the most-voted player if the ballot rule is met; announce either way."""
        sim.enter("exile")
        rules, table = self.config.vote, self.table
        verdict = decide(votes, majority=rules.majority, tie_break=rules.tie_break,
                         electorate=len(table.alive), rng=sim.rng)
        sim.emit(Exiled(target=verdict.chosen, round=table.round, counts=verdict.counts,
                        reason=verdict.reason))
        if verdict.chosen is None:
            announce(sim, table, "A majority vote was not reached, so no one was removed "
                     "from the game." if verdict.reason == "no_majority"
                     else "The vote was tied, so no one was removed from the game.")
            return
        table.eliminate(verdict.chosen)
        announce(sim, table, f"The majority voted to remove {verdict.chosen} from the game."
                 if verdict.reason == "strict_majority"
                 else f"{verdict.chosen} received the most votes and was removed from the game.")

    async def summarize(self, sim: Sim) -> None:
        """Every alive player writes the day into its memory."""
        sim.advance(phase="summarize")
        table = self.table
        notes = await sim.ask_all({p: self.ask.summarize(p) for p in table.alive})
        for player, note in notes.items():
            table.note(player, note.summary)
            sim.emit(Summarized(actor=player, round=table.round, summary=note.summary))

    def winner(self) -> str | None:
        """The winning side by parity, or None while the game goes on."""
        table = self.table
        return parity_winner(table.count(WEREWOLVES), table.count(VILLAGERS),
                             evil=WEREWOLVES, good=VILLAGERS)

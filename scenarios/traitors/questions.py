"""The Traitors' questions: each rulebook verb as a typed question with its view and lazy prompt.

Prompts are functions that render ``prompts/<verb>.j2`` only when a model is asked. The rotating
topics, reaction and memory prompts of the reference code live in the templates; the rules only
pass the round and the speaker's position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from societas.scenarios._templates import Prompts
from societas.scenarios.social_deduction import (
    Line,
    Public,
    Speech,
    Summary,
    Table,
    render_memory,
    render_transcript,
)
from societas.scenarios.traitors.config import TraitorsConfig
from societas.scenarios.traitors.roles import TITLES, TRAITORS
from societas.scenarios.traitors.views import BallotView, Seat, TalkView
from societas.simulator.scenario import Choice, Form

PROMPTS = Prompts(__file__)
TOPICS = 6
"""How many discussion topics rotate by round (their text is in ``prompts/discuss.j2``)."""

SILENCE = Speech(say="I have nothing to add right now.")
NO_NOTES = Summary(summary="Nothing new to note.")


@lru_cache(maxsize=64)
def rules_text(players: int, traitors: int, self_vote: bool, tie_break: str) -> str:
    """The rules every player reads first (identical for all players of a config)."""
    return PROMPTS.render("rules", players=players, traitors=traitors, self_vote=self_vote,
                          tie_break=tie_break)


@lru_cache(maxsize=256)
def role_text(role: str, team: tuple[str, ...], traitors: int) -> str:
    """A player's role, goal and fellow Traitors."""
    return PROMPTS.render("role", role=role, title=TITLES[role], team=team, traitors=traitors)


class Questions:
    """Builds every question of one game from its table.

    Args:
        config: the game's config.
        table: the game's table (read when a question is built).
        teams: traitor → its fellow traitors.
        revealed: players whose role was revealed (the banished; updated by the rules).
    """

    def __init__(self, config: TraitorsConfig, table: Table, teams: Mapping[str, list[str]],
                 revealed: set[str]) -> None:
        self.config = config
        self.table = table
        self.teams = {p: tuple(t) for p, t in teams.items()}
        self.revealed = revealed
        self._numbers = {p: i for i, p in enumerate(table.players)}
        self._gone: tuple[Public | None, tuple[tuple[str, str | None], ...]] = (None, ())
        self._rules = rules_text(len(table.players), config.traitors,
                                 config.banishment.self_vote, config.banishment.tie_break)

    @property
    def topic(self) -> int:
        """This round's discussion topic (0-based; they rotate by round)."""
        return (self.table.round - 1) % TOPICS

    def briefing(self, player: str) -> str:
        """Rules, then role: the standing instructions (shared prefix first)."""
        role = role_text(self.table.roles[player], self.teams.get(player, ()),
                         self.config.traitors)
        return f"{self._rules}\n\n{role}"

    def introduction(self, player: str, persona: Mapping[str, Any]) -> str:
        """The announcement introducing a player's persona."""
        return PROMPTS.render("introduction", player=player, persona=persona)

    def seat(self, player: str) -> Seat:
        """What every question to `player` carries."""
        table, public = self.table, self.table.public()
        if self._gone[0] is not public:
            gone = tuple((p, table.roles[p] if p in self.revealed else None)
                         for p in table.players if p not in public.alive)
            self._gone = (public, gone)
        return Seat(me=player, role=table.roles[player], round=public.round,
                    number=self._numbers[player], alive=public.alive,
                    team=self.teams.get(player, ()), traitors=self.config.traitors,
                    gone=self._gone[1], speeches=public.speeches, memory=table.memory(player))

    # -- questions -----------------------------------------------------------------------------
    def discuss(self, player: str, heard: tuple[Line, ...], position: int) -> Form:
        """Pass 1: speak on the round's topic."""
        view = TalkView(self.seat(player), heard, position)
        return self._speech("discuss", view)

    def react(self, player: str, heard: tuple[Line, ...], position: int, *,
              banished: str | None = None) -> Form:
        """Pass 2 (react to the discussion) or react to a banishment."""
        revealed = self.table.roles[banished] if banished else None
        view = TalkView(self.seat(player), heard, position, banished, revealed)
        return self._speech("react", view)

    def summarize(self, player: str, heard: tuple[Line, ...], verb: str,
                  banished: str | None) -> Form:
        """Notes into memory (``summarize``, or ``introduce`` before the first round)."""
        revealed = self.table.roles[banished] if banished else None
        view = TalkView(self.seat(player), heard, self.table.players.index(player), banished,
                        revealed)
        return Form(name=verb, prompt=self._prompt(verb, view), view=view, model=Summary,
                    limits={"summary": (1, self.config.speech_chars)},
                    reasoning=self.config.reasoning, fallback=NO_NOTES)

    def vote(self, player: str, heard: tuple[Line, ...]) -> Choice:
        """Whom to banish."""
        alive = self.table.alive
        options = alive if self.config.banishment.self_vote else [p for p in alive
                                                                   if p != player]
        view = BallotView(self.seat(player), tuple(options), heard)
        return Choice(name="vote", prompt=self._prompt("vote", view), view=view,
                      options=view.options, reasoning=self.config.reasoning)

    def plot(self, traitor: str, heard: tuple[Line, ...], position: int, *,
             consensus: bool = False) -> Form:
        """Speak in the secret meeting: a proposal, or (`consensus`) a conclusion."""
        view = TalkView(self.seat(traitor), heard, position, consensus=consensus)
        return self._speech("plot", view)

    def murder(self, traitor: str, faithfuls: Sequence[str], meeting: tuple[Line, ...]) -> Choice:
        """Which Faithful to murder."""
        view = BallotView(self.seat(traitor), tuple(faithfuls), meeting)
        return Choice(name="murder", prompt=self._prompt("murder", view), view=view,
                      options=view.options, reasoning=self.config.reasoning)

    # -- helpers -------------------------------------------------------------------------------
    def _speech(self, verb: str, view: TalkView) -> Form:
        return Form(name=verb, prompt=self._prompt(verb, view), view=view, model=Speech,
                    limits={"say": (1, self.config.speech_chars)},
                    reasoning=self.config.reasoning, fallback=SILENCE)

    def _prompt(self, verb: str, view: Any) -> Callable[[], str]:
        seat: Seat = view.seat

        def render() -> str:
            heard = render_transcript(_HEARD_TITLES.get(verb, "What was said"), view.heard,
                                      seat.me) if view.heard else ""
            return PROMPTS.render(verb, view=view, seat=seat, titles=TITLES, traitors=TRAITORS,
                                  memory=render_memory(seat.memory), heard=heard,
                                  state=PROMPTS.render("state", seat=seat, titles=TITLES))

        return render


_HEARD_TITLES = {
    "discuss": "The discussion so far this round",
    "react": "What was said",
    "summarize": "What was said",
    "vote": "Today's discussion",
    "plot": "The secret meeting so far",
    "murder": "The secret meeting",
}

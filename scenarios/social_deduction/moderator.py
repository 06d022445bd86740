"""What the moderator does in every social-deduction game: announce, record roles, run a poll.

These helpers keep the table (what players know) and the event log (what analysts read) in step.
"""

from __future__ import annotations

from collections.abc import Mapping

from societas.scenarios.social_deduction.events import Announced, RoleAssigned, Voted
from societas.scenarios.social_deduction.table import Table
from societas.simulator.scenario import Question, Sim


def announce(sim: Sim, table: Table, text: str) -> None:
    """Tell every player `text` (public memory) and log it."""
    table.announce(text)
    sim.emit(Announced(round=table.round, text=text))


def record_roles(sim: Sim, table: Table, teams: Mapping[str, list[str]]) -> None:
    """Log every player's secret role, side, policy and the teammates it knows."""
    for player in table.players:
        sim.emit(RoleAssigned(actor=player, role=table.roles[player], side=table.side(player),
                              policy=sim.agents[player].policy, team=teams.get(player, [])))


async def poll(sim: Sim, table: Table, questions: Mapping[str, Question[str]], *, ballot: str,
               final: bool = True, turn: int | None = None) -> dict[str, str]:
    """Ask every voter at once; log each vote in voter order; returns voter → target."""
    votes = await sim.ask_all(questions)
    for voter in questions:
        sim.emit(Voted(actor=voter, target=votes[voter], round=table.round, ballot=ballot,
                       final=final, turn=turn))
    return votes

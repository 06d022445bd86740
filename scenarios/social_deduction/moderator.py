"""What the moderator does in every social-deduction game: seat, announce, record roles, poll.

These helpers keep the table (what players know) and the event log (what analysts read) in step.
"""

from __future__ import annotations

from collections.abc import Mapping

from societas.agents import Memory
from societas.scenarios.social_deduction.config import MEMORY_CHANNELS
from societas.scenarios.social_deduction.events import Announced, RoleAssigned, Voted
from societas.scenarios.social_deduction.table import Table
from societas.simulator.scenario import Question, Sim, SimulationError


def open_table(sim: Sim, roles: Mapping[str, str], sides: Mapping[str, str]) -> Table:
    """The table of a game whose players remember in their own agents' memories.

    Raises:
        SimulationError: an agent has no `societas.agents.Memory` with the channels of
            `MEMORY_CHANNELS` (the scenario's agents must be built by `Agent.from_spec`).
    """
    memories: dict[str, Memory] = {}
    for player in roles:
        memory = getattr(sim.agents[player], "memory", None)
        channels = memory.limits if isinstance(memory, Memory) else {}
        missing = [channel for channel in MEMORY_CHANNELS if channel not in channels]
        if missing or not isinstance(memory, Memory):
            raise SimulationError(f"{sim.where()}: agent {player!r} has no memory channel "
                                  f"{', '.join(missing)}; social-deduction players need a "
                                  "societas.agents.Memory with channels "
                                  f"{', '.join(MEMORY_CHANNELS)}")
        memories[player] = memory
    return Table(roles, sides, memories)


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

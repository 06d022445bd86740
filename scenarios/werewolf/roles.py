"""The Werewolf role catalogue: each role's side and its night power.

To offer a new role, add its card here, its night coroutine in `rules.py` and its text in
``prompts/role.j2``; ``scenario.roles`` can then deal it. The engine is not involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WEREWOLVES = "werewolves"
VILLAGERS = "villagers"

NightPower = Literal["attack", "inspect", "protect", "guard", "brew"]


@dataclass(frozen=True)
class RoleCard:
    """One role: its config name, the titles players read, its side and its night power."""

    name: str
    title: str
    plural: str
    side: str
    night: NightPower | None


CATALOGUE: dict[str, RoleCard] = {card.name: card for card in (
    RoleCard("werewolf", "Werewolf", "Werewolves", WEREWOLVES, "attack"),
    RoleCard("villager", "Villager", "Villagers", VILLAGERS, None),
    RoleCard("seer", "Seer", "Seers", VILLAGERS, "inspect"),
    RoleCard("doctor", "Doctor", "Doctors", VILLAGERS, "protect"),
    RoleCard("guard", "Guard", "Guards", VILLAGERS, "guard"),
    RoleCard("witch", "Witch", "Witches", VILLAGERS, "brew"),
)}

SIDES: dict[str, str] = {name: card.side for name, card in CATALOGUE.items()}
TITLES: dict[str, str] = {name: card.title for name, card in CATALOGUE.items()}

"""Pure rule kernels of Werewolf: night options and resolution, the bidding winner."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Literal

import numpy as np

Cause = Literal["attack", "poison"]


def attack_options(alive: Sequence[str], wolves: Collection[str]) -> list[str]:
    """Whom the werewolves may attack: every alive player who is not a werewolf."""
    return [p for p in alive if p not in wolves]


def inspect_options(alive: Sequence[str], seer: str, inspected: Collection[str]) -> list[str]:
    """Whom a seer may inspect: alive players other than itself not inspected before."""
    return [p for p in alive if p != seer and p not in inspected]


def protect_options(alive: Sequence[str]) -> list[str]:
    """Whom the doctor may protect: any alive player, itself included."""
    return list(alive)


def guard_options(alive: Sequence[str], last_guarded: str | None) -> list[str]:
    """Whom a guard may guard: any alive player (itself included) but last night's choice."""
    return [p for p in alive if p != last_guarded]


def resolve_night(attacked: str | None, protected: Collection[str], healed: bool,
                  poisoned: str | None) -> list[tuple[str, Cause]]:
    """Who dies at dawn, in order.

    The attacked player dies unless protected (doctor, guard) or healed (witch); then the witch's
    poison victim dies, protected or not.
    """
    deaths: list[tuple[str, Cause]] = []
    if attacked is not None and attacked not in protected and not healed:
        deaths.append((attacked, "attack"))
    if poisoned is not None and all(poisoned != dead for dead, _ in deaths):
        deaths.append((poisoned, "poison"))
    return deaths


def highest_bidders(bids: Mapping[str, int]) -> list[str]:
    """Players with the highest bid, in bidding order."""
    top = max(bids.values())
    return [p for p, bid in bids.items() if bid == top]


def pick_speaker(bids: Mapping[str, int], rng: np.random.Generator) -> str:
    """The next speaker: the highest bidder, ties drawn uniformly with the game's rng.

    Werewolf Arena means to favour tied players named in the last speech, but its code makes that
    a no-op; the plain uniform draw is what it does.
    """
    tied = highest_bidders(bids)
    return tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]

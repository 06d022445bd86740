"""Pure rule kernels shared by social-deduction games: deal roles, tally votes, check parity wins.

No `sim`, no model: plain data in, plain data out, so every rule is tested with move tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Majority = Literal["plurality", "strict"]
"""``plurality``: the most-voted target is chosen. ``strict``: it must also hold more than half of
the electorate's votes (Werewolf Arena's exile rule)."""

TieBreak = Literal["first_voted", "random", "no_elimination"]
"""How a tie between the most-voted targets ends: the target that received its first vote
earliest (The Traitors reference code: ``max(votes, key=votes.get)`` on an insertion-ordered
dict), one of them drawn with the game's rng, or nobody."""

Reason = Literal["plurality", "strict_majority", "tie_first_voted", "tie_random", "tie",
                 "no_majority", "no_votes"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of a ballot.

    Attributes:
        chosen: the player the ballot eliminates, or None.
        counts: votes per target, in the order each target first received a vote.
        leaders: every target with the top count.
        reason: why `chosen` is what it is.
    """

    chosen: str | None
    counts: dict[str, int]
    leaders: tuple[str, ...]
    reason: Reason


def count_votes(votes: Mapping[str, str | None]) -> dict[str, int]:
    """Votes per target in first-vote order (voters in the mapping's order; None abstains)."""
    counts: dict[str, int] = {}
    for target in votes.values():
        if target is not None:
            counts[target] = counts.get(target, 0) + 1
    return counts


def decide(votes: Mapping[str, str | None], *, majority: Majority, tie_break: TieBreak,
           electorate: int, rng: np.random.Generator | None = None) -> Verdict:
    """Who a ballot eliminates.

    Args:
        votes: voter → target, in the order the votes were cast (None: abstained).
        majority: ``plurality`` or ``strict`` (more than ``electorate / 2`` votes).
        tie_break: what a tie between leaders gives (see `TieBreak`).
        electorate: how many players could vote (the alive players), for the strict rule.
        rng: the game's generator; needed only for ``tie_break="random"``.
    """
    counts = count_votes(votes)
    if not counts:
        return Verdict(None, counts, (), "no_votes")
    top = max(counts.values())
    leaders = tuple(target for target, count in counts.items() if count == top)
    if majority == "strict":
        if top > electorate / 2:
            return Verdict(leaders[0], counts, leaders, "strict_majority")
        return Verdict(None, counts, leaders, "no_majority")
    if len(leaders) == 1:
        return Verdict(leaders[0], counts, leaders, "plurality")
    if tie_break == "first_voted":
        return Verdict(leaders[0], counts, leaders, "tie_first_voted")
    if tie_break == "random":
        if rng is None:
            raise ValueError("tie_break='random' needs the game's rng")
        return Verdict(leaders[int(rng.integers(len(leaders)))], counts, leaders, "tie_random")
    return Verdict(None, counts, leaders, "tie")


def parity_winner(evil_alive: int, good_alive: int, *, evil: str, good: str) -> str | None:
    """The winning side by parity, or None while the game goes on.

    The informed minority (`evil`) wins once it is at least as many as everyone else; the
    majority (`good`) wins once no member of the minority is left. The minority's condition is
    checked first, as in Werewolf Arena's ``get_winner``.
    """
    if evil_alive >= good_alive:
        return evil
    if evil_alive == 0:
        return good
    return None


def deal_roles(players: Sequence[str], counts: Mapping[str, int], rng: np.random.Generator,
               fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each player's role: `fixed` ones as given, the remaining cards dealt at random.

    Args:
        players: the seats, in order.
        counts: how many cards of each role are in the deck; they must add up to the seats.
        rng: the game's generator.
        fixed: player → role for players whose role is set in the config.

    Raises:
        ValueError: the deck does not fit the seats, or `fixed` names an unknown player, an
            unknown role or more cards of a role than the deck holds.
    """
    fixed = dict(fixed or {})
    total = sum(counts.values())
    if total != len(players):
        raise ValueError(f"the roles hold {total} cards for {len(players)} players")
    unknown = [p for p in fixed if p not in players]
    if unknown:
        raise ValueError(f"fixed_roles names players not in the game: {unknown}; the players "
                         f"are {list(players)}")
    deck = dict(counts)
    for player, role in fixed.items():
        if deck.get(role, 0) <= 0:
            raise ValueError(f"fixed_roles gives {player!r} the role {role!r}, but the deck has "
                             f"no {role!r} card left (deck: {dict(counts)})")
        deck[role] -= 1
    cards = [role for role, count in deck.items() for _ in range(count)]
    order = rng.permutation(len(cards))
    free = iter(cards[i] for i in order)
    return {p: fixed[p] if p in fixed else next(free) for p in players}

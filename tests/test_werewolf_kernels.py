"""Move tables for Werewolf's pure kernels: night options, night resolution, the floor."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from societas.scenarios.werewolf.kernels import (
    attack_options,
    guard_options,
    highest_bidders,
    inspect_options,
    pick_speaker,
    protect_options,
    resolve_night,
)

ALIVE = ["a0", "a1", "a2", "a3", "a4"]


def test_night_options():
    assert attack_options(ALIVE, {"a1", "a3"}) == ["a0", "a2", "a4"]
    assert protect_options(ALIVE) == ALIVE  # the doctor may protect itself
    assert inspect_options(ALIVE, "a2", {"a0", "a4"}) == ["a1", "a3"]  # never itself, never again
    assert guard_options(ALIVE, "a3") == ["a0", "a1", "a2", "a4"]
    assert guard_options(ALIVE, None) == ALIVE


# (attacked, protected, healed, poisoned) -> deaths at dawn
NIGHTS = [
    (("a1", set(), False, None), [("a1", "attack")]),
    (("a1", {"a1"}, False, None), []),  # protected by the doctor (or the guard)
    (("a1", {"a1", "a2"}, False, None), []),
    (("a1", {"a2"}, False, None), [("a1", "attack")]),  # protecting someone else
    (("a1", set(), True, None), []),  # healed by the witch
    (("a1", set(), False, "a3"), [("a1", "attack"), ("a3", "poison")]),
    (("a1", {"a1"}, False, "a1"), [("a1", "poison")]),  # poison ignores protection
    (("a1", set(), False, "a1"), [("a1", "attack")]),  # nobody dies twice
    ((None, set(), False, None), []),
]


@pytest.mark.parametrize(("night", "deaths"), NIGHTS)
def test_night_resolution(night, deaths):
    assert resolve_night(*night) == deaths


def test_the_highest_bid_speaks():
    bids = {"a0": 1, "a1": 4, "a2": 3}
    assert highest_bidders(bids) == ["a1"]
    assert pick_speaker(bids, np.random.default_rng(0)) == "a1"


def test_tied_bids_are_drawn_uniformly_among_the_tied():
    bids = {"a0": 2, "a1": 0, "a2": 2, "a3": 2}
    rng = np.random.default_rng(1)
    drawn = Counter(pick_speaker(bids, rng) for _ in range(3000))
    assert set(drawn) == {"a0", "a2", "a3"}
    assert all(900 < n < 1100 for n in drawn.values())

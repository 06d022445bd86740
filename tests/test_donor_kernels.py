"""Move tables for the donor game's pure kernels."""

from __future__ import annotations

import pytest

from societas.scenarios.donor_game.kernels import (
    TraceEntry,
    apply_move,
    describe_trace,
    donor_side_is_a,
    extend_trace,
    pairings,
    survivors,
)

A = ["a0", "a1", "a2"]
B = ["b0", "b1", "b2"]


def test_alternating_schedule_swaps_donor_side_every_round():
    sides = ["A" if donor_side_is_a(r, 6, "alternating") else "B" for r in range(12)]
    assert "".join(sides) == "ABABABABABAB"


def test_notebook_schedule_matches_the_released_code():
    sides = ["A" if donor_side_is_a(r, 6, "notebook") else "B" for r in range(12)]
    assert "".join(sides) == "ABABABBABABA"


def test_round_robin_pairs_each_a_with_a_different_b_each_round():
    seen = set()
    for r in range(3):
        pairs = pairings(A, B, r, "alternating")
        assert len({d for d, _ in pairs} | {t for _, t in pairs}) == 6  # disjoint pairs
        for donor, recipient in pairs:
            seen.add(frozenset((donor, recipient)))
    assert len(seen) == 9  # every A met every B once in 3 rounds


def test_notebook_pairs_meet_once_in_each_role():
    met = {}
    for r in range(6):
        for donor, recipient in pairings(A, B, r, "notebook"):
            met.setdefault(frozenset((donor, recipient)), []).append(donor)
    assert all(len(donors) == 2 and len(set(donors)) == 2 for donors in met.values())


@pytest.mark.parametrize(("action", "amount", "expected"), [
    ("donate", 0.0, (10.0, 10.0)),
    ("donate", 4.0, (6.0, 18.0)),
    ("donate", 10.0, (0.0, 30.0)),
    ("punish", 2.0, (8.0, 6.0)),
    ("punish", 8.0, (2.0, 0.0)),  # floored at zero
])
def test_apply_move(action, amount, expected):
    assert apply_move(10.0, 10.0, action, amount, multiplier=2, punishment_loss=2) == expected


def test_apply_move_rejects_giving_more_than_owned():
    with pytest.raises(ValueError):
        apply_move(5.0, 0.0, "donate", 6.0, multiplier=2, punishment_loss=2)


def test_trace_is_own_action_then_recipients_trace_cut_to_depth():
    t1 = TraceEntry(1, "c", "d", "donate", 0.1)
    t2 = TraceEntry(2, "b", "c", "donate", 0.2)
    t3 = TraceEntry(3, "a", "b", "punish", 0.3)
    t4 = TraceEntry(4, "z", "a", "donate", 0.4)
    trace_b = extend_trace((t1,), t2, depth=3)
    assert trace_b == (t2, t1)
    trace_a = extend_trace(trace_b, t3, depth=3)
    assert trace_a == (t3, t2, t1)
    assert extend_trace(trace_a, t4, depth=3) == (t4, t3, t2)
    assert extend_trace(trace_a, t4, depth=0) == ()


def test_describe_trace_reads_most_recent_first():
    text = describe_trace("b", (TraceEntry(3, "b", "c", "donate", 0.4),
                                TraceEntry(2, "c", "d", "donate", 0.1)))
    assert text == ("In round 3, b donated 40% of their resources to c. "
                    "In round 2, c donated 10% of their resources to d.")
    assert describe_trace("b", ()) == "b did not have any previous interactions."


def test_selection_keeps_the_top_half_and_breaks_ties_by_order():
    resources = {"a": 5.0, "b": 30.0, "c": 5.0, "d": 1.0, "e": 12.0, "f": 5.0}
    assert survivors(resources, 0.5) == ["b", "e", "a"]
    assert survivors(resources, 0.01) == ["b"]  # at least one survives
    assert len(survivors(resources, 0.99)) == 5  # never everyone

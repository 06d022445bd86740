"""Opinion metrics on hand-made inputs, and the log readers on a hand-made event table."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from societas.analysis import opinion as m

CHUANG_START = np.array([-2, -2, -1, -1, 0, 0, 1, 1, 2, 2], dtype=float)


def test_bias_and_diversity_state_their_ddof():
    assert m.bias(CHUANG_START) == 0.0
    assert m.diversity(CHUANG_START) == pytest.approx(math.sqrt(2))  # 1.41
    assert m.diversity(CHUANG_START, ddof=1) == pytest.approx(1.4907, abs=1e-4)  # Chuang's 1.49
    assert math.isnan(m.diversity(np.array([1.0]), ddof=1))


@pytest.mark.parametrize(("x", "gap", "min_share", "expected"), [
    ([0.0, 0.05, 0.1, 0.5, 0.55, 1.0], 0.1, 0.0, 3),
    ([0.0, 0.05, 0.1, 0.5, 0.55, 1.0], 0.5, 0.0, 1),
    ([0.0, 0.05, 0.1, 0.5, 0.55, 1.0], 0.1, 0.2, 2),  # the lone 1.0 holds 1/6 < 20%
    ([0.3] * 5, 0.0, 0.0, 1),
    ([], 0.1, 0.0, 0),
])
def test_clusters(x, gap, min_share, expected):
    assert m.clusters(np.array(x), gap, min_share) == expected


def test_bimodality_separates_two_camps_from_one_hump():
    two_camps = np.array([0.0] * 50 + [1.0] * 50)
    assert m.bimodality(two_camps) > 0.9
    uniform = np.linspace(0, 1, 1001)
    assert m.bimodality(uniform) == pytest.approx(5 / 9, abs=0.01)
    hump = np.random.default_rng(0).normal(size=5000)
    assert m.bimodality(hump) < 0.4
    assert math.isnan(m.bimodality(np.array([1.0, 1.0, 1.0, 1.0])))
    assert math.isnan(m.bimodality(np.array([1.0, 2.0])))


def test_polarization_is_the_gap_between_halves():
    assert m.polarization(np.array([0.0, 0.0, 1.0, 1.0])) == 1.0
    assert m.polarization(np.array([0.0, 0.5, 1.0])) == 1.0  # the middle agent is left out
    assert m.polarization(np.array([0.4, 0.4])) == 0.0


def test_delta_sd_is_negative_for_convergence():
    assert m.delta_sd(np.array([1, 6, 1, 6]), np.array([3, 4, 3, 4])) == pytest.approx(-2.0)
    assert m.delta_sd(np.array([2, 5]), np.array([2, 5])) == 0.0


@pytest.mark.parametrize(("spreads", "expected"), [
    ([2.0, 1.0, 0.0, 0.0], 2),
    ([2.0, 0.0, 1.0, 0.0], 3),  # consensus reached at step 1 but lost again
    ([2.0, 1.0, 1.0, 0.5], None),
    ([0.0, 0.0], 0),
])
def test_time_to_consensus(spreads, expected):
    assert m.time_to_consensus(np.arange(len(spreads)), np.array(spreads)) == expected


def test_shifts_follow_agentsociety_categories():
    initial = np.array([3, 3, 7, 7, 3, 7, 5, 5])
    final = np.array([2, 4, 9, 3, 3, 6, 5, 8])
    # 3→2 polarized, 3→4 moderated, 7→9 polarized, 7→3 flipped, 3→3 unchanged, 7→6 moderated,
    # 5→5 unchanged, 5→8 polarized (left the midpoint).
    assert m.shifts(initial, final, midpoint=5) == {
        "flipped": 1 / 8, "polarized": 3 / 8, "moderated": 2 / 8, "unchanged": 2 / 8}


def test_assortativity_of_hand_made_edges():
    # A path a - b - c - d with opinions 0, 0, 1, 1: like meets like on two of three edges.
    u = np.array([0.0, 0.0, 1.0])
    v = np.array([0.0, 1.0, 1.0])
    assert m.assortativity(u, v) == pytest.approx(1 / 3)
    assert m.assortativity(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(-1.0)
    assert math.isnan(m.assortativity(np.array([1.0, 1.0]), np.array([1.0, 1.0])))


def _events(rows: list[tuple[int, int, str, str | None, str | None, dict]]) -> pl.LazyFrame:
    return pl.DataFrame({
        "run_id": ["r"] * len(rows), "sim": [0] * len(rows),
        "seq": list(range(len(rows))), "step": [r[0] for r in rows],
        "phase": ["p"] * len(rows), "kind": [r[2] for r in rows],
        "actor": [r[3] for r in rows], "target": [r[4] for r in rows],
        "data": [json.dumps(r[5]) for r in rows],
    }).lazy()


def test_states_carry_opinions_forward_and_summary_reads_them():
    ev = _events([
        (0, 0, "network_built", None, None, {"directed": False}),
        (0, 0, "linked", "a", "b", {"reason": "initial"}),
        (0, 0, "linked", "b", "c", {"reason": "initial"}),
        (0, 0, "surveyed", "a", None, {"opinion": -2}),
        (0, 0, "surveyed", "b", None, {"opinion": 0}),
        (0, 0, "surveyed", "c", None, {"opinion": 2}),
        (1, 0, "reported", "b", None, {"opinion": 1, "previous": 0}),
        (2, 0, "reported", "a", None, {"opinion": 1, "previous": -2}),
        (2, 0, "unlinked", "c", "b", {"reason": "unfollow"}),
        (2, 0, "outcome", None, None, {"midpoint": 0.0}),
    ])
    panel = m.states(ev)
    at = {(s, a): o for s, a, o in panel.select("step", "actor", "opinion").iter_rows()}
    assert at == {(0, "a"): -2, (0, "b"): 0, (0, "c"): 2, (1, "a"): -2, (1, "b"): 1,
                  (1, "c"): 2, (2, "a"): 1, (2, "b"): 1, (2, "c"): 2}
    assert m.edges(ev).select("source", "target").rows() == [("a", "b")]
    steps = m.by_step(ev, gap=0.5)
    assert steps["bias"].to_list() == pytest.approx([0.0, 1 / 3, 4 / 3])
    assert steps["clusters"].to_list() == [3, 3, 2]
    summary = m.summary(ev)
    assert summary["final bias"] == pytest.approx(4 / 3)
    assert summary["share flipped"] == pytest.approx(1 / 3)  # a: -2 → 1
    assert summary["share polarized"] == pytest.approx(1 / 3)  # b: 0 → 1 left the midpoint
    assert summary["final assortativity"] != summary["final assortativity"]  # a-b both at 1: NaN
    assert summary["time to consensus"] is None


def test_group_convergence_splits_private_and_public():
    rows = []
    for agent, r0, r1, s1, s2 in (("a", 1, 3, 1, 3), ("b", 6, 4, 6, 4)):
        rows += [(0, 0, "rated", agent, None, {"group": 0, "round": 0, "rating": r0}),
                 (1, 0, "tweeted", agent, None, {"group": 0, "round": 1, "stance": s1}),
                 (2, 0, "tweeted", agent, None, {"group": 0, "round": 2, "stance": s2}),
                 (2, 0, "rated", agent, None, {"group": 0, "round": 2, "rating": r1})]
    groups = m.group_convergence(_events(rows))
    row = groups.row(0, named=True)
    assert row["sd_private_initial"] == 2.5 and row["sd_private_final"] == 0.5
    assert row["delta_sd_private"] == -2.0 and row["delta_sd_public"] == -2.0

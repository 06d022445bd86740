"""Classical opinion models against their analytic results, and the kernels' move tables."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from societas import simulator
from societas.analysis import events, fields, opinion
from societas.analysis.opinion import states
from societas.scenarios.opinion import kernels
from societas.simulator.graph import influence_matrix


def adjacency(graph: nx.Graph) -> sp.csr_array:
    return influence_matrix(graph, sorted(graph.nodes))


def test_degroot_converges_to_the_left_eigenvector_weighted_mean():
    # Strongly connected and aperiodic (self weights), with unequal influence.
    graph = nx.DiGraph([(0, 1), (1, 2), (2, 0), (2, 3), (3, 0), (0, 3)])
    w = kernels.influence_weights(adjacency(graph), self_weight=0.5)
    x0 = np.array([1.0, -2.0, 0.5, 3.0])
    values, vectors = np.linalg.eig(w.toarray().T)
    pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    pi /= pi.sum()
    x = x0
    for _ in range(500):
        x = kernels.degroot_step(w, x)
    assert np.allclose(x, pi @ x0, atol=1e-10)
    assert not np.allclose(pi, 0.25)  # the limit is not the plain mean


def test_influence_weights_are_row_stochastic_and_keep_lonely_agents():
    graph = nx.DiGraph([(0, 1), (2, 1)])
    graph.add_node(3)
    w = kernels.influence_weights(adjacency(graph), self_weight=0.0).toarray()
    assert np.allclose(w.sum(axis=1), 1.0)
    assert w[1].tolist() == [0.5, 0, 0.5, 0] and w[3, 3] == 1.0 and w[0, 0] == 1.0


def test_friedkin_johnsen_reaches_its_closed_form():
    graph = nx.barabasi_albert_graph(60, 2, seed=4)
    w = kernels.influence_weights(adjacency(graph))
    rng = np.random.default_rng(0)
    u = rng.uniform(size=60)
    lam = rng.uniform(0.2, 0.9, size=60)
    x = u.copy()
    for _ in range(400):
        x = kernels.friedkin_johnsen_step(w, x, u, lam)
    expected = np.linalg.solve(np.eye(60) - np.diag(lam) @ w.toarray(), (1 - lam) * u)
    assert np.allclose(x, expected, atol=1e-10)
    assert np.allclose(kernels.friedkin_johnsen_equilibrium(w, u, lam), expected)


def test_hegselmann_krause_with_epsilon_one_is_consensus_in_one_step():
    x = np.random.default_rng(1).uniform(size=200)
    after = kernels.hegselmann_krause_everyone(x, epsilon=1.0)
    assert np.ptp(after) < 1e-12 and after[0] == pytest.approx(x.mean())
    complete = adjacency(nx.complete_graph(200))
    assert np.allclose(kernels.hegselmann_krause_step(complete, x, 1.0), x.mean())


def test_hegselmann_krause_sorted_form_matches_the_quadratic_definition():
    # Equal opinions included; ε off the 0.01 grid, where rounding would decide the boundary.
    x = np.round(np.random.default_rng(2).uniform(size=300), 2)
    naive = np.array([x[np.abs(x - xi) <= 0.155].mean() for xi in x])
    assert np.allclose(kernels.hegselmann_krause_everyone(x, 0.155), naive)
    graph_form = kernels.hegselmann_krause_step(adjacency(nx.complete_graph(300)), x, 0.155)
    assert np.allclose(graph_form, naive)


def test_hegselmann_krause_on_a_graph_only_hears_neighbours():
    path = adjacency(nx.path_graph(3))  # 0 - 1 - 2
    x = np.array([0.0, 0.1, 0.15])
    assert np.allclose(kernels.hegselmann_krause_step(path, x, 0.12),
                       [0.05, (0.0 + 0.1 + 0.15) / 3, 0.125])


DISJOINT = [
    # first, second, kept
    ([0, 2, 1], [1, 3, 2], [True, True, False]),
    ([0, 1, 4], [1, 0, 5], [True, False, True]),
    ([3, 3], [3, 4], [False, False]),  # a self-pair is never kept, its agent still blocks
]


@pytest.mark.parametrize(("first", "second", "kept"), DISJOINT)
def test_disjoint_pairs(first, second, kept):
    mask = kernels.disjoint_pairs(np.array(first), np.array(second))
    assert mask.tolist() == kept


def test_deffuant_moves_close_pairs_and_keeps_the_mean():
    x = np.array([0.0, 0.1, 0.5, 0.9])
    after = kernels.deffuant_step(x, np.array([0, 2]), np.array([1, 3]), epsilon=0.2, mu=0.5)
    assert np.allclose(after, [0.05, 0.05, 0.5, 0.9])  # 2 and 3 are too far apart
    rng = np.random.default_rng(5)
    a = adjacency(nx.erdos_renyi_graph(300, 0.05, seed=5))
    y0 = rng.uniform(size=300)
    y = y0
    for _ in range(50):
        i, j = kernels.random_sources(a, rng.permutation(300)[:150], rng)
        keep = kernels.disjoint_pairs(i, j)
        y = kernels.deffuant_step(y, i[keep], j[keep], 0.3, 0.3)
    assert y.mean() == pytest.approx(y0.mean()) and np.ptp(y) < np.ptp(y0)


def test_random_sources_are_neighbours():
    graph = nx.barabasi_albert_graph(100, 2, seed=1)
    a = adjacency(graph)
    agents, picks = kernels.random_sources(a, np.arange(100), np.random.default_rng(0))
    assert len(agents) == 100
    assert all(graph.has_edge(int(i), int(j)) for i, j in zip(agents, picks, strict=True))


@pytest.mark.parametrize(("own", "anchor", "heard", "rule", "expected"), [
    (0.0, 0.0, [], "degroot", 0.0),
    (0.0, 0.0, [2.0, 1.0], "degroot", 1.0),
    (2.0, 2.0, [-2.0], "friedkin_johnsen", 0.8 * 0.0 + 0.2 * 2.0),
    (0.0, 0.0, [0.5, 2.0, -0.9], "hegselmann_krause", (0.0 + 0.5 - 0.9) / 3),
    (0.0, 0.0, [0.5, 2.0], "deffuant", 0.25),
])
def test_scalar_rules(own, anchor, heard, rule, expected):
    value = {
        "degroot": lambda: kernels.degroot_value(own, heard),
        "friedkin_johnsen": lambda: kernels.friedkin_johnsen_value(own, anchor, heard, 0.8),
        "hegselmann_krause": lambda: kernels.hegselmann_krause_value(own, heard, 1.0),
        "deffuant": lambda: kernels.deffuant_value(own, heard, 1.0, 0.5),
    }[rule]()
    assert value == pytest.approx(expected)


def test_stochastic_rounding_keeps_the_expected_value_and_the_scale():
    rng = np.random.default_rng(0)
    draws = [kernels.to_scale(0.3, -2, 2, "stochastic", rng) for _ in range(20_000)]
    assert set(draws) == {0, 1} and np.mean(draws) == pytest.approx(0.3, abs=0.02)
    assert kernels.to_scale(7.2, 1, 6, "stochastic", rng) == 6
    assert kernels.to_scale(-0.5, -2, 2, "nearest", rng) == 0


# -- the scenario end to end -----------------------------------------------------------------------
def classical(tmp_path, model: str, graph: dict, size: int = 30, **scenario):
    return simulator.run({
        "scenario": {"name": "opinion_model", "model": model, **scenario},
        "population": {"size": size}, "graph": graph, "out_dir": str(tmp_path),
        "progress": False, "seed": 11})


def final_opinions(run_dir) -> np.ndarray:
    panel = states(events(run_dir))
    return panel.filter(pl.col("step") == panel["step"].max()).sort("actor")["opinion"].to_numpy()


def test_voter_model_on_a_complete_graph_ends_in_consensus(tmp_path):
    result = classical(tmp_path, "voter", {"name": "complete"}, steps=5000,
                       initial={"kind": "levels", "values": [0, 1]})
    outcome = result.outcomes[0]
    assert outcome.converged and outcome.steps < 5000
    assert set(final_opinions(result.run_dir)) in ({0.0}, {1.0})


def test_friedkin_johnsen_run_ends_at_the_closed_form(tmp_path):
    result = classical(tmp_path, "friedkin_johnsen", {"name": "watts_strogatz", "k": 4, "p": 0.3},
                       steps=2000, susceptibility=0.7, tolerance=1e-13)
    ev = events(result.run_dir)
    start = (fields(ev.filter((pl.col("kind") == "surveyed") & (pl.col("step") == 0)),
                    opinion=pl.Float64).sort("actor").collect())
    logged = opinion.edges(ev)  # the graph this simulation drew, as its log recorded it
    graph = nx.Graph(list(zip(logged["source"], logged["target"], strict=True)))
    w = kernels.influence_weights(influence_matrix(graph, start["actor"].to_list()))
    u = start["opinion"].to_numpy()
    expected = kernels.friedkin_johnsen_equilibrium(w, u, 0.7)
    assert result.outcomes[0].converged
    assert np.allclose(final_opinions(result.run_dir), expected, atol=1e-10)


def test_hegselmann_krause_run_with_wide_confidence_stops_after_consensus(tmp_path):
    result = classical(tmp_path, "hegselmann_krause", {"name": "none"}, epsilon=1.0,
                       neighbourhood="everyone")
    assert result.outcomes[0].steps == 2  # consensus at step 1, no movement at step 2
    assert np.ptp(final_opinions(result.run_dir)) < 1e-12


def test_deffuant_with_narrow_confidence_leaves_several_clusters(tmp_path):
    result = classical(tmp_path, "deffuant", {"name": "complete"}, size=200, steps=400,
                       epsilon=0.1, record_every=0, log_edges=False)
    final = final_opinions(result.run_dir)
    from societas.analysis.opinion import clusters

    assert clusters(final, gap=0.05, min_share=0.02) >= 3


def test_models_other_than_global_hk_need_a_graph(tmp_path):
    with pytest.raises(simulator.ConfigError, match="graph.name: the degroot model runs on a "
                       "social graph"):
        classical(tmp_path, "degroot", {"name": "none"})


def test_classical_runs_are_reproducible_from_the_seed(tmp_path):
    a = classical(tmp_path / "a", "deffuant", {"name": "barabasi_albert", "m": 2}, steps=20)
    b = classical(tmp_path / "b", "deffuant", {"name": "barabasi_albert", "m": 2}, steps=20)
    assert simulator.content_hash(a.run_dir) == simulator.content_hash(b.run_dir)

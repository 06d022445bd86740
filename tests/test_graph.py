"""Graph builders: seeded, validated with one-line errors, reported, and changed only with a log."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from societas import simulator
from societas.analysis import events, fields
from societas.analysis.opinion import edges
from societas.simulator import ConfigError, GraphConfig
from societas.simulator.graph import (
    build_graph,
    check_graph,
    describe,
    graph_names,
    influence_matrix,
)

IDS = [f"a{i:02d}" for i in range(40)]


def build(name: str, ids=IDS, seed: int = 1, **params):
    return build_graph(ids, GraphConfig(name=name, **params), seed)


@pytest.mark.parametrize(("name", "params"), [
    ("complete", {}),
    ("erdos_renyi", {"p": 0.2}),
    ("erdos_renyi", {"mean_degree": 4.0}),
    ("watts_strogatz", {"k": 4, "p": 0.2}),
    ("barabasi_albert", {"m": 2}),
    ("stochastic_block", {"blocks": 2, "p_in": 0.5, "p_out": 0.02}),
])
def test_builders_cover_the_agents_and_are_seeded(name, params):
    graph = build(name, **params)
    assert list(graph.nodes) == IDS
    same = build(name, **params)
    assert sorted(graph.edges) == sorted(same.edges)
    report = graph.graph["report"]
    assert report["nodes"] == 40 and report["edges"] == graph.number_of_edges()
    if name != "complete":
        other = build(name, seed=2, **params)
        assert sorted(graph.edges) != sorted(other.edges)
        pinned = [build_graph(IDS, GraphConfig(name=name, seed=5, **params), s) for s in (1, 2)]
        assert sorted(pinned[0].edges) == sorted(pinned[1].edges)  # graph.seed fixes it


def test_builders_have_their_textbook_shapes():
    assert build("complete").number_of_edges() == 40 * 39 // 2
    ring = build("watts_strogatz", k=4, p=0.0)
    assert all(d == 4 for _, d in ring.degree)
    ba = build("barabasi_albert", m=3)
    assert ba.number_of_edges() == 3 * (40 - 3)
    er = build("erdos_renyi", ids=[f"x{i}" for i in range(400)], mean_degree=6.0)
    assert 4.5 < er.graph["report"]["mean_degree"] < 7.5


def test_stochastic_block_links_mostly_within_blocks_in_population_order():
    graph = build("stochastic_block", sizes=[10, 30], p_in=0.6, p_out=0.01)
    blocks = nx.get_node_attributes(graph, "block")
    assert [blocks[a] for a in IDS] == [0] * 10 + [1] * 30
    inside = sum(blocks[u] == blocks[v] for u, v in graph.edges)
    assert inside > 10 * (graph.number_of_edges() - inside)


def test_edge_list_from_csv_with_weights_maps_labels_in_order(tmp_path):
    path = tmp_path / "follows.csv"
    path.write_text("src,dst,w\nbob,alice,2.5\nalice,carol,1\ncarol,carol,9\n")
    graph = build("edge_list", ids=IDS[:5], path=str(path), source="src", target="dst",
                  weight="w", directed=True)
    labels = nx.get_node_attributes(graph, "label")
    assert labels == {"a00": "bob", "a01": "alice", "a02": "carol"}
    assert graph["a00"]["a01"]["weight"] == 2.5
    assert graph.number_of_edges() == 2  # the self-loop is dropped
    report = graph.graph["report"]
    assert report["isolates"] == 2 and not report["connected"] and report["directed"]


def test_edge_list_from_parquet_with_agent_ids(tmp_path):
    path = tmp_path / "edges.parquet"
    pq.write_table(pa.table({"source": ["a00", "a01"], "target": ["a01", "a02"]}), path)
    graph = build("edge_list", ids=IDS[:3], path=str(path), nodes="ids")
    assert sorted(graph.edges) == [("a00", "a01"), ("a01", "a02")]
    assert graph.graph["report"]["connected"]


def test_influence_matrix_rows_are_who_an_agent_hears():
    graph = nx.DiGraph([("a", "b"), ("c", "b")])
    graph.add_edge("b", "a", weight=3.0)
    matrix = influence_matrix(graph, ["a", "b", "c"]).toarray()
    assert matrix.tolist() == [[0, 3, 0], [1, 0, 1], [0, 0, 0]]
    undirected = influence_matrix(nx.Graph([("a", "b")]), ["a", "b", "c"]).toarray()
    assert np.array_equal(undirected, undirected.T) and undirected.sum() == 2


def test_isolated_nodes_are_kept_connected_or_refused(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("source,target\nx,y\n")
    kept = build("edge_list", ids=IDS[:6], path=str(path))
    assert kept.graph["report"]["isolates"] == 4
    joined = build("edge_list", ids=IDS[:6], path=str(path), isolates="connect")
    assert joined.graph["report"]["isolates"] == 0
    assert joined.graph["report"]["isolates_connected"] == 4
    with pytest.raises(ConfigError, match=r"^graph.isolates: 4 isolated nodes"):
        build("edge_list", ids=IDS[:6], path=str(path), isolates="error")
    with pytest.raises(ConfigError, match=r"^graph.require_connected: .* 5 components"):
        build("edge_list", ids=IDS[:6], path=str(path), require_connected=True)


def test_describe_counts_components_on_a_hand_made_graph():
    graph = nx.Graph([("a", "b"), ("b", "c"), ("d", "e")])
    graph.add_node("f")
    report = describe(graph)
    assert report == {"nodes": 6, "edges": 3, "directed": False, "components": 3,
                      "largest_component": 3, "isolates": 1, "connected": False,
                      "mean_degree": 1.0}


BAD = [
    ({"name": "small_world"}, None, "graph.name: unknown graph 'small_world'; registered: "),
    ({"name": "erdos_renyi"}, None, "graph: Value error, give p or mean_degree"),
    ({"name": "erdos_renyi", "p": 1.5}, None, "graph.p: Input should be less than or equal to 1"),
    ({"name": "watts_strogatz", "k": 3}, None, "graph.k: Value error, must be even"),
    ({"name": "watts_strogatz", "k": 12}, 10, "graph.k: k=12 needs more than 12 agents"),
    ({"name": "barabasi_albert", "m": 5}, 5, "graph.m: m=5 needs more than 5 agents"),
    ({"name": "stochastic_block", "blocks": 2}, None, "give p_in and p_out"),
    ({"name": "stochastic_block", "sizes": [3, 3], "p_in": 0.1, "p_out": 0.1}, 7,
     "graph.sizes: the blocks hold 6 agents but population.size is 7"),
    ({"name": "stochastic_block", "blocks": 2, "p": [[0.1]]}, None, "p must be a 2×2 matrix"),
    ({"name": "barabasi_albert", "mm": 2}, None, "graph.mm: unknown key; allowed keys here"),
    ({"name": "edge_list"}, None, "graph.path: Value error, the edge list needs a file"),
    ({"name": "edge_list", "path": "edges.txt"}, None, "graph.path: Value error, the file must"),
    ({"name": "edge_list", "path": "/no/such.csv"}, 4, "graph.path: no such file: /no/such.csv"),
]


@pytest.mark.parametrize(("raw", "size", "message"), BAD, ids=[b[2][:30] for b in BAD])
def test_bad_graph_configs_give_one_line_naming_the_key(raw, size, message):
    with pytest.raises(ConfigError) as caught:
        check_graph(GraphConfig(**raw), size)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_edge_list_column_and_weight_errors_name_the_key(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("from,to,w\na,b,heavy\n")
    with pytest.raises(ConfigError, match=r"^graph.source: no column 'source' in .*columns: from"):
        check_graph(GraphConfig(name="edge_list", path=str(path)), 4)
    with pytest.raises(ConfigError, match=r"^graph.weight: column 'w' .* is not numeric"):
        check_graph(GraphConfig(name="edge_list", path=str(path), source="from", target="to",
                                weight="w"), 4)
    with pytest.raises(ConfigError, match=r"^population.size: .* has 2 distinct nodes"):
        check_graph(GraphConfig(name="edge_list", path=str(path), source="from", target="to"), 1)


def test_every_builder_has_a_yaml():
    from importlib.resources import files

    conf = files("societas.scenarios.conf") / "graph"
    assert {p.name.removesuffix(".yaml") for p in conf.iterdir()} >= set(graph_names())


def test_a_bad_graph_stops_the_run_before_it_starts(tmp_path):
    with pytest.raises(ConfigError, match="graph.m: m=12"):
        simulator.run({"scenario": {"name": "opinion_model"}, "population": {"size": 12},
                       "graph": {"name": "barabasi_albert", "m": 12}, "out_dir": str(tmp_path),
                       "progress": False})
    assert not any(tmp_path.iterdir())


def unfollow_run(tmp_path, refollow: bool):
    result = simulator.run({
        "scenario": {"name": "opinion_dynamics", "steps": 5, "exchange": "round", "feed": 0,
                     "unfollow": 2, "refollow": refollow},
        "population": {"size": 12, "strategy": "stubborn"},
        "graph": {"name": "watts_strogatz", "k": 4, "p": 0.0},
        "out_dir": str(tmp_path), "run_id": f"refollow={refollow}", "progress": False,
        "seed": 3})
    ev = events(result.run_dir)
    changes = fields(ev.filter(pl.col("kind").is_in(["linked", "unlinked"])), reason=pl.String)
    counts = dict(changes.group_by("reason").len().collect().iter_rows())
    return ev, counts


def test_refollows_are_logged_beside_unfollows(tmp_path):
    ev, counts = unfollow_run(tmp_path, refollow=True)
    assert counts["initial"] == 24 and 0 < counts["refollow"] <= counts["unfollow"]
    assert edges(ev).height == 24 - counts["unfollow"] + counts["refollow"]


def test_unfollows_are_logged_and_replayed_into_the_final_graph(tmp_path):
    ev, counts = unfollow_run(tmp_path, refollow=False)
    assert counts["initial"] == 24 and counts["unfollow"] > 0 and "refollow" not in counts
    final = edges(ev)
    # Stubborn agents never move: no edge left joins agents two or more levels apart.
    opinions = dict(fields(ev.filter((pl.col("kind") == "surveyed") & (pl.col("step") == 0)),
                           opinion=pl.Float64).select("actor", "opinion").collect().iter_rows())
    assert all(abs(opinions[u] - opinions[v]) < 2 for u, v in
               final.select("source", "target").iter_rows())
    assert final.height == 24 - counts["unfollow"]

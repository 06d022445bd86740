"""Social graphs chosen by name in the config; nodes are agent ids.

A graph config is a builder name plus that builder's parameters (``graph: {name:
barabasi_albert, m: 3}``). Every builder is seeded from the run seed (or its own ``seed``), so a
run's graph is a pure function of its config. Builders and their parameters:

========================  ================================================================
``none``                  no graph (``sim.graph`` is None)
``complete``              everyone linked to everyone
``erdos_renyi``           each pair linked with probability ``p`` (or ``mean_degree/(n-1)``)
``watts_strogatz``        ring lattice of degree ``k`` with rewiring probability ``p``
``barabasi_albert``       preferential attachment, ``m`` links per new node
``stochastic_block``      communities: ``blocks`` equal blocks (or ``sizes``), linked with
                          ``p_in`` inside and ``p_out`` across (or a full matrix ``p``)
``edge_list``             a CSV or Parquet file of ``source``/``target`` columns, with an
                          optional ``weight`` column
========================  ================================================================

Common parameters: ``directed`` (where the builder allows it; an edge u → v means v hears u, so
v's *sources* are its in-neighbours), ``isolates`` (``keep`` isolated nodes, ``connect`` each to
one random node, or ``error``), ``require_connected`` (fail unless the graph is (weakly)
connected) and ``seed`` (fixes the graph whatever the run seed).

Every built graph carries ``graph.graph["report"]``: nodes, edges, components, the largest
component, isolated nodes and whether it is connected. Scenarios log it with `log_network`, and
change edges during a run with `link` and `unlink`, which log ``linked`` / ``unlinked`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from societas.simulator._config import GraphConfig, validate_model
from societas.simulator._errors import ConfigError
from societas.simulator._events import Event
from societas.simulator._seeding import derive_seed

if TYPE_CHECKING:
    import networkx as nx
    import scipy.sparse

    from societas.simulator._sim import Sim

GraphBuilder = Callable[[Sequence[str], Any, int], "nx.Graph | None"]


class GraphParams(BaseModel):
    """Parameters every builder accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    isolates: Literal["keep", "connect", "error"] = "keep"
    require_connected: bool = False
    seed: int | None = Field(default=None, ge=0,
                             description="fixes the graph whatever the run seed")

    def check_size(self, size: int) -> None:
        """Raise `ConfigError` when the parameters do not fit a population of `size` agents."""


@dataclass(frozen=True)
class _Registered:
    builder: GraphBuilder
    params: type[GraphParams]


_BUILDERS: dict[str, _Registered] = {}


def register_graph(name: str, params: type[GraphParams] = GraphParams
                   ) -> Callable[[GraphBuilder], GraphBuilder]:
    """Decorator: register a builder ``(agent_ids, params, seed) -> Graph`` and its `params`."""

    def decorate(builder: GraphBuilder) -> GraphBuilder:
        _BUILDERS[name] = _Registered(builder, params)
        return builder

    return decorate


def graph_names() -> list[str]:
    """Registered graph builder names."""
    return sorted(_BUILDERS)


def check_graph(config: GraphConfig, size: int | None = None) -> GraphParams:
    """Validate a graph config (and, given `size`, its fit to the population); `ConfigError`."""
    if config.name not in _BUILDERS:
        raise ConfigError("graph.name", f"unknown graph {config.name!r}; registered: "
                          f"{', '.join(graph_names())}")
    params = validate_model(_BUILDERS[config.name].params, config.model_dump(), "graph")
    if size is not None:
        params.check_size(size)
    return params


def build_graph(agent_ids: Sequence[str], config: GraphConfig, seed: int) -> nx.Graph | None:
    """Build the graph `config` names over `agent_ids`, handle isolated nodes, attach a report."""
    params = check_graph(config, len(agent_ids))
    graph_seed = derive_seed(params.seed if params.seed is not None else seed, "graph")
    graph = _BUILDERS[config.name].builder(list(agent_ids), params, graph_seed)
    if graph is None:
        return None
    connected = _handle_isolates(graph, params, graph_seed)
    report = describe(graph)
    report["isolates_connected"] = connected
    if params.require_connected and not report["connected"]:
        raise ConfigError("graph.require_connected", f"the {config.name} graph has "
                          f"{report['components']} components ({report['isolates']} isolated "
                          "nodes); raise its density or set require_connected=false")
    graph.graph.update(name=config.name, report=report, version=0)
    return graph


def describe(graph: nx.Graph) -> dict[str, Any]:
    """Size and connectedness: nodes, edges, components, largest component, isolates."""
    import networkx as nx

    nodes = graph.number_of_nodes()
    directed = isinstance(graph, nx.DiGraph)  # is_directed(), as a type narrowing
    components = list(nx.weakly_connected_components(graph) if directed
                      else nx.connected_components(graph))
    report: dict[str, Any] = {
        "nodes": nodes,
        "edges": graph.number_of_edges(),
        "directed": directed,
        "components": len(components),
        "largest_component": max((len(c) for c in components), default=0),
        "isolates": nx.number_of_isolates(graph),
        "connected": len(components) == 1,
        "mean_degree": (2 * graph.number_of_edges() / nodes) if nodes else 0.0,
    }
    if directed:
        report["strongly_connected"] = nodes > 0 and nx.is_strongly_connected(graph)
    return report


def _handle_isolates(graph: nx.Graph, params: GraphParams, seed: int) -> int:
    import networkx as nx
    import numpy as np

    isolated = sorted(nx.isolates(graph))
    if not isolated or params.isolates == "keep" or graph.number_of_nodes() < 2:
        return 0
    if params.isolates == "error":
        raise ConfigError("graph.isolates", f"{len(isolated)} isolated nodes (first: "
                          f"{isolated[0]!r}); use isolates=connect or isolates=keep")
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, "isolates")))
    nodes = list(graph.nodes)
    for node in isolated:
        other = node
        while other == node:
            other = nodes[int(rng.integers(len(nodes)))]
        graph.add_edge(other, node)
    return len(isolated)


def _labelled(graph: nx.Graph, agent_ids: list[str]) -> nx.Graph:
    """`graph` (integer nodes ``0..n-1``) with nodes renamed to agent ids, in agent order."""
    import networkx as nx

    labelled = nx.DiGraph() if graph.is_directed() else nx.Graph()
    labelled.add_nodes_from(agent_ids)
    for node, data in graph.nodes(data=True):
        if data:
            labelled.nodes[agent_ids[node]].update(data)
    labelled.add_edges_from((agent_ids[u], agent_ids[v], d) for u, v, d in graph.edges(data=True))
    return labelled


def _seed32(seed: int) -> int:
    return seed % (2**32)


# -- builders --------------------------------------------------------------------------------------
@register_graph("none")
def _no_graph(agent_ids: Sequence[str], params: GraphParams, seed: int) -> None:
    return None


@register_graph("complete")
def _complete(agent_ids: Sequence[str], params: GraphParams, seed: int) -> Any:
    import networkx as nx

    return _labelled(nx.complete_graph(len(agent_ids)), list(agent_ids))


class ErdosRenyiParams(GraphParams):
    """G(n, p): link probability ``p``, or ``mean_degree / (n − 1)`` when ``p`` is unset."""

    p: float | None = Field(default=None, ge=0.0, le=1.0)
    mean_degree: float | None = Field(default=None, ge=0.0)
    directed: bool = False

    @model_validator(mode="after")
    def _one_density(self) -> ErdosRenyiParams:
        if self.p is None and self.mean_degree is None:
            raise ValueError("give p or mean_degree")
        return self

    def probability(self, n: int) -> float:
        """The link probability for `n` nodes."""
        if self.p is not None:
            return self.p
        return min(1.0, float(self.mean_degree or 0.0) / max(n - 1, 1))


@register_graph("erdos_renyi", ErdosRenyiParams)
def _erdos_renyi(agent_ids: Sequence[str], params: ErdosRenyiParams, seed: int) -> Any:
    import networkx as nx

    n = len(agent_ids)
    p = params.probability(n)
    make = nx.fast_gnp_random_graph if p < 0.2 else nx.gnp_random_graph
    return _labelled(make(n, p, seed=_seed32(seed), directed=params.directed), list(agent_ids))


class WattsStrogatzParams(GraphParams):
    """Ring lattice where each node links to its `k` nearest neighbours, rewired with `p`."""

    k: int = Field(default=4, ge=2)
    p: float = Field(default=0.1, ge=0.0, le=1.0)

    @field_validator("k")
    @classmethod
    def _even(cls, k: int) -> int:  # a field validator: the error names graph.k
        if k % 2:
            raise ValueError("must be even (each node links k/2 neighbours per side)")
        return k

    def check_size(self, size: int) -> None:
        """`k` must be below the population size."""
        if self.k >= size:
            raise ConfigError("graph.k", f"k={self.k} needs more than {self.k} agents; "
                              f"population.size is {size}")


@register_graph("watts_strogatz", WattsStrogatzParams)
def _watts_strogatz(agent_ids: Sequence[str], params: WattsStrogatzParams, seed: int) -> Any:
    import networkx as nx

    graph = nx.watts_strogatz_graph(len(agent_ids), params.k, params.p, seed=_seed32(seed))
    return _labelled(graph, list(agent_ids))


class BarabasiAlbertParams(GraphParams):
    """Preferential attachment: each new node links to `m` existing ones."""

    m: int = Field(default=3, ge=1)

    def check_size(self, size: int) -> None:
        """`m` must be below the population size."""
        if self.m >= size:
            raise ConfigError("graph.m", f"m={self.m} needs more than {self.m} agents; "
                              f"population.size is {size}")


@register_graph("barabasi_albert", BarabasiAlbertParams)
def _barabasi_albert(agent_ids: Sequence[str], params: BarabasiAlbertParams, seed: int) -> Any:
    import networkx as nx

    graph = nx.barabasi_albert_graph(len(agent_ids), params.m, seed=_seed32(seed))
    return _labelled(graph, list(agent_ids))


class StochasticBlockParams(GraphParams):
    """Communities: block sizes (`blocks` equal ones or explicit `sizes`) and link densities.

    Agents fill the blocks in population order (the first ``sizes[0]`` agents form block 0), so
    policy groups, which also take agents in order, can line up with communities. Each node
    carries its ``block`` number.
    """

    blocks: int | None = Field(default=None, ge=1)
    sizes: list[int] | None = None
    p_in: float | None = Field(default=None, ge=0.0, le=1.0)
    p_out: float | None = Field(default=None, ge=0.0, le=1.0)
    p: list[list[float]] | None = None
    directed: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> StochasticBlockParams:
        if (self.blocks is None) == (self.sizes is None):
            raise ValueError("give exactly one of blocks (equal sizes) or sizes")
        if self.sizes is not None and any(s < 1 for s in self.sizes):
            raise ValueError(f"every block needs at least one agent, got sizes {self.sizes}")
        if self.p is None and (self.p_in is None or self.p_out is None):
            raise ValueError("give p_in and p_out, or the full block matrix p")
        if self.p is not None:
            k = self.blocks or len(self.sizes or ())
            if len(self.p) != k or any(len(row) != k for row in self.p):
                raise ValueError(f"p must be a {k}×{k} matrix")
            if any(not 0.0 <= v <= 1.0 for row in self.p for v in row):
                raise ValueError("every entry of p must be in [0, 1]")
        return self

    def block_sizes(self, n: int) -> list[int]:
        """Sizes of the blocks for `n` agents (equal blocks differ by at most one)."""
        if self.sizes is not None:
            return list(self.sizes)
        k = int(self.blocks or 1)
        return [n // k + (1 if i < n % k else 0) for i in range(k)]

    def matrix(self) -> list[list[float]]:
        """The block link-probability matrix."""
        if self.p is not None:
            return self.p
        k = self.blocks or len(self.sizes or ())
        assert self.p_in is not None and self.p_out is not None  # checked by _consistent
        return [[float(self.p_in if i == j else self.p_out) for j in range(k)] for i in range(k)]

    def check_size(self, size: int) -> None:
        """Explicit sizes must add up to the population; equal blocks need one agent each."""
        if self.sizes is not None and sum(self.sizes) != size:
            raise ConfigError("graph.sizes", f"the blocks hold {sum(self.sizes)} agents but "
                              f"population.size is {size}")
        if self.blocks is not None and self.blocks > size:
            raise ConfigError("graph.blocks", f"{self.blocks} blocks need at least {self.blocks} "
                              f"agents; population.size is {size}")


@register_graph("stochastic_block", StochasticBlockParams)
def _stochastic_block(agent_ids: Sequence[str], params: StochasticBlockParams, seed: int) -> Any:
    import networkx as nx

    graph = nx.stochastic_block_model(params.block_sizes(len(agent_ids)), params.matrix(),
                                      seed=_seed32(seed), directed=params.directed)
    for node in graph.nodes:
        graph.nodes[node].pop("block", None)
    labelled = _labelled(graph, list(agent_ids))
    start = 0
    for block, size in enumerate(params.block_sizes(len(agent_ids))):
        for agent in agent_ids[start : start + size]:
            labelled.nodes[agent]["block"] = block
        start += size
    return labelled


class EdgeListParams(GraphParams):
    """An edge list read from a CSV or Parquet file.

    ``nodes: order`` gives the file's distinct node labels (in order of first appearance) to
    the agents in population order and keeps each label as the node's ``label``; ``nodes: ids``
    expects the labels to be agent ids already. Agents the file does not mention are isolated.
    """

    path: str | None = Field(default=None, validate_default=True)
    source: str = "source"
    target: str = "target"
    weight: str | None = None
    directed: bool = False
    nodes: Literal["order", "ids"] = "order"

    @field_validator("path")
    @classmethod
    def _file_kind(cls, path: str | None) -> str:
        if path is None:
            raise ValueError("the edge list needs a file: graph.path=edges.csv (or .parquet)")
        if Path(path).suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ValueError("the file must end in .csv or .parquet")
        return path

    def check_size(self, size: int) -> None:
        """Read the file now, so that a bad file or column stops the run before it starts."""
        sources, targets, _ = _read_edges(self, str(self.path))
        if self.nodes == "order":
            labels = len(set(sources) | set(targets))
            if labels > size:
                raise ConfigError("population.size", f"{self.path} has {labels} distinct nodes "
                                  f"but population.size is {size}")


@register_graph("edge_list", EdgeListParams)
def _edge_list(agent_ids: Sequence[str], params: EdgeListParams, seed: int) -> Any:
    import networkx as nx

    sources, targets, weights = _read_edges(params, str(params.path))
    ids = list(agent_ids)
    if params.nodes == "ids":
        known = set(ids)
        unknown = next((x for x in (*sources, *targets) if x not in known), None)
        if unknown is not None:
            raise ConfigError("graph.nodes", f"{params.path}: node {unknown!r} is not an agent "
                              "id; use nodes=order to map file labels to agents")
        mapping = {a: a for a in ids}
    else:
        labels = list(dict.fromkeys(x for pair in zip(sources, targets, strict=True)
                                    for x in pair))
        if len(labels) > len(ids):
            raise ConfigError("population.size", f"{params.path} has {len(labels)} distinct "
                              f"nodes but population.size is {len(ids)}")
        mapping = dict(zip(labels, ids, strict=False))
    graph = nx.DiGraph() if params.directed else nx.Graph()
    graph.add_nodes_from(ids)
    if params.nodes == "order":
        for label, agent in mapping.items():
            graph.nodes[agent]["label"] = label
    for i, (u, v) in enumerate(zip(sources, targets, strict=True)):
        if u == v:
            continue  # self-loops say nothing about who hears whom
        data = {"weight": weights[i]} if weights is not None else {}
        graph.add_edge(mapping[u], mapping[v], **data)
    return graph


def _read_edges(params: EdgeListParams, file: str
                ) -> tuple[list[str], list[str], list[float] | None]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(file)
    if not path.is_file():
        raise ConfigError("graph.path", f"no such file: {params.path}")
    try:
        table = pacsv.read_csv(path) if path.suffix.lower() == ".csv" else pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise ConfigError("graph.path", f"cannot read {params.path}: {err}") from None
    for key in ("source", "target", "weight"):
        column = getattr(params, key)
        if column is not None and column not in table.column_names:
            raise ConfigError(f"graph.{key}", f"no column {column!r} in {params.path}; "
                              f"columns: {', '.join(table.column_names)}")
    sources = [str(x) for x in table.column(params.source).to_pylist()]
    targets = [str(x) for x in table.column(params.target).to_pylist()]
    weights = None
    if params.weight is not None:
        raw = table.column(params.weight).to_pylist()
        try:
            weights = [float(w) for w in raw]
        except (TypeError, ValueError):
            raise ConfigError("graph.weight", f"column {params.weight!r} of {params.path} is "
                              "not numeric") from None
        bad = next((i for i, w in enumerate(weights) if not w >= 0.0), None)
        if bad is not None:
            raise ConfigError("graph.weight", f"{params.path} row {bad + 1}: weight "
                              f"{raw[bad]!r} must be a non-negative number")
    return sources, targets, weights


# -- using a graph during a run ------------------------------------------------------------------
class NetworkBuilt(Event):
    """The social graph a simulation runs on: its builder and connectedness report."""

    kind: ClassVar[str] = "network_built"
    name: str
    nodes: int
    edges: int
    directed: bool
    components: int
    largest_component: int
    isolates: int
    connected: bool
    mean_degree: float
    isolates_connected: int = 0


class Linked(Event):
    """An edge: `actor` → `target` (the target hears the actor); initial or added mid-run."""

    kind: ClassVar[str] = "linked"
    weight: float | None = None
    reason: str


class Unlinked(Event):
    """An edge removed mid-run (an unfollow)."""

    kind: ClassVar[str] = "unlinked"
    reason: str


GRAPH_EVENTS: tuple[type[Event], ...] = (NetworkBuilt, Linked, Unlinked)
"""The events `log_network`, `link` and `unlink` emit (for a scenario's `events`)."""


def log_network(sim: Sim, *, edges: bool = True) -> None:
    """Emit the graph's ``network_built`` report and, with `edges`, one ``linked`` per edge."""
    graph = _require_graph(sim)
    report = graph.graph.get("report") or describe(graph)
    fields = {k: report[k] for k in NetworkBuilt.model_fields if k in report}
    sim.emit(NetworkBuilt(name=str(graph.graph.get("name", "custom")), **fields))
    if edges:
        for u, v, data in graph.edges(data=True):
            sim.emit(Linked(actor=u, target=v, weight=data.get("weight"), reason="initial"))


def link(sim: Sim, source: str, target: str, *, reason: str, weight: float | None = None
         ) -> bool:
    """Add the edge `source` → `target` and log it; False (nothing logged) if it exists."""
    graph = _require_graph(sim)
    for node in (source, target):
        if node not in graph:
            raise ValueError(f"{sim.where()}: cannot link {node!r}: not a node of the graph")
    if source == target or graph.has_edge(source, target):
        return False
    graph.add_edge(source, target, **({"weight": weight} if weight is not None else {}))
    graph.graph["version"] = graph.graph.get("version", 0) + 1
    sim.emit(Linked(actor=source, target=target, weight=weight, reason=reason))
    return True


def unlink(sim: Sim, source: str, target: str, *, reason: str) -> bool:
    """Remove the edge `source` → `target` and log it; False (nothing logged) if absent."""
    graph = _require_graph(sim)
    if not graph.has_edge(source, target):
        return False
    graph.remove_edge(source, target)
    graph.graph["version"] = graph.graph.get("version", 0) + 1
    sim.emit(Unlinked(actor=source, target=target, reason=reason))
    return True


def sources(graph: nx.Graph, node: str) -> list[str]:
    """Who `node` hears: its in-neighbours in a directed graph, its neighbours otherwise."""
    import networkx as nx

    if isinstance(graph, nx.DiGraph):  # is_directed(), as a type narrowing
        return list(graph.predecessors(node))
    return list(graph.neighbors(node))


def influence_matrix(graph: nx.Graph, order: Sequence[str]) -> scipy.sparse.csr_array:
    """Sparse matrix A with ``A[i, j]`` = weight of the edge j → i (who i hears), rows in `order`.

    Nodes of `order` missing from the graph get empty rows; edges without a ``weight`` count 1.
    """
    import numpy as np
    import scipy.sparse as sp

    index = {node: i for i, node in enumerate(order)}
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for u, v, data in graph.edges(data=True):
        if u not in index or v not in index:
            continue
        w = float(data.get("weight", 1.0))
        rows.append(index[v])
        cols.append(index[u])
        values.append(w)
        if not graph.is_directed():
            rows.append(index[u])
            cols.append(index[v])
            values.append(w)
    n = len(order)
    return sp.csr_array((np.asarray(values, dtype=float), (np.asarray(rows, dtype=np.int64),
                        np.asarray(cols, dtype=np.int64))), shape=(n, n))


def _require_graph(sim: Sim) -> nx.Graph:
    if sim.graph is None:
        raise ValueError(f"{sim.where()}: this run has no graph; set graph=... in the config")
    return sim.graph

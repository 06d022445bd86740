"""Social graphs chosen by name in the config; nodes are agent ids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simulator._config import ConfigError, GraphConfig

if TYPE_CHECKING:
    import networkx as nx

GraphBuilder = Callable[[Sequence[str], GraphConfig, int], "nx.Graph | None"]

_BUILDERS: dict[str, GraphBuilder] = {}


def register_graph(name: str) -> Callable[[GraphBuilder], GraphBuilder]:
    """Decorator: register a graph builder ``(agent_ids, config, seed) -> Graph``."""

    def decorate(builder: GraphBuilder) -> GraphBuilder:
        _BUILDERS[name] = builder
        return builder

    return decorate


def graph_names() -> list[str]:
    """Registered graph builder names."""
    return sorted(_BUILDERS)


def check_graph(config: GraphConfig) -> None:
    """Raise `ConfigError` for an unknown graph builder."""
    if config.name not in _BUILDERS:
        raise ConfigError("graph.name", f"unknown graph {config.name!r}; registered: "
                          f"{', '.join(graph_names())}")


def build_graph(agent_ids: Sequence[str], config: GraphConfig, seed: int) -> nx.Graph | None:
    """Build the graph `config` names over `agent_ids`."""
    check_graph(config)
    return _BUILDERS[config.name](agent_ids, config, seed)


@register_graph("none")
def _no_graph(agent_ids: Sequence[str], config: GraphConfig, seed: int) -> None:
    return None


@register_graph("complete")
def _complete(agent_ids: Sequence[str], config: GraphConfig, seed: int) -> Any:
    import networkx as nx

    graph = nx.complete_graph(len(agent_ids))
    return nx.relabel_nodes(graph, dict(enumerate(agent_ids)))

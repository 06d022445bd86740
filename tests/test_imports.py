"""The installed package's import graph: no cycle, the layering holds, one namespace.

Every module under societas.simulator, .agents, .scenarios and .analysis is parsed (not
imported); its imports, at the top or inside functions, absolute or relative, are resolved to
modules of the package. Imports under ``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import pytest

PACKAGES = ("societas.simulator", "societas.agents", "societas.scenarios", "societas.analysis")
BARE = frozenset(name.rpartition(".")[2] for name in PACKAGES)

Graph = Mapping[str, set[str]]


def package_modules() -> dict[str, Path]:
    """Every module of the installed packages, by dotted name, with its source file."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations, package
        for root in map(Path, spec.submodule_search_locations):
            for path in sorted(root.rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                modules[".".join((package, *parts))] = path
    return modules


def imports(module: str, path: Path, known: Collection[str]) -> Iterator[tuple[int, str]]:
    """(line, module) for each module an import in `path` runs, relative ones resolved.

    ``from a import b`` imports the module a.b when `known` holds it, else a (b is a name in it).
    """
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skipped = {id(n) for node in ast.walk(tree) if _type_checking(node) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[:len(parts) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield node.lineno, child if child in known else base


def _type_checking(node: ast.AST) -> bool:
    """Whether `node` is an ``if TYPE_CHECKING:`` block."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports."""
    return {name: {target for _, target in imports(name, path, modules)
                   if target in modules and target != name}
            for name, path in modules.items()}


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle (its modules in import order, first repeated last) per strongly connected
    component of `graph` that has one; sorted, empty when the graph is acyclic."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(_cycle_in(graph, component) for component in components)


def _cycle_in(graph: Graph, component: set[str]) -> list[str]:
    """A cycle through the smallest module of `component`, by breadth-first search."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    return [*paths[node], start]
                if nxt in component and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{sorted(component)} is no cycle")


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return package_modules()


@pytest.fixture(scope="module")
def graph(modules) -> dict[str, set[str]]:
    return import_graph(modules)


def test_the_walk_finds_every_package_and_resolves_relative_imports(modules, graph):
    assert set(PACKAGES) <= set(modules) and len(modules) > 60
    assert "societas.simulator._run" in graph["societas.simulator"]
    assert "societas.simulator._log" in graph["societas.simulator.testing"]  # inside a function
    assert "societas.scenarios.werewolf.rules" in graph["societas.scenarios.werewolf"]


def test_the_package_has_no_import_cycle(graph):
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_nothing_in_the_simulator_imports_analysis(graph):
    """analysis reads logs; the engine below it never imports it, directly or through others."""
    found = []
    for module in sorted(m for m in graph if m.startswith("societas.simulator")):
        path = _path_to(graph, module, lambda m: m.startswith("societas.analysis"))
        if path:
            found.append(" -> ".join(path))
    assert not found, "the simulator reaches societas.analysis:\n" + "\n".join(found)


def _path_to(graph: Graph, start: str, goal) -> list[str] | None:
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    if goal(nxt):
                        return paths[nxt]
                    following.append(nxt)
        frontier = following
    return None


def test_no_module_imports_a_bare_top_level_name(modules):
    bare = [f"{path}:{line}: {target}" for name, path in modules.items()
            for line, target in imports(name, path, modules) if target.partition(".")[0] in BARE]
    assert not bare, "imports of bare top-level packages (use societas.*):\n" + "\n".join(bare)


# -- the checks themselves can fail ----------------------------------------------------------------
def test_the_cycle_finder_reports_each_cycle_and_nothing_else():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) == []
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": set(), "e": {"e"},
             "f": {"g"}, "g": {"f", "a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"], ["f", "g", "f"]]


def test_imports_are_resolved_absolute_relative_and_in_functions(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import societas.simulator._log\nfrom . import _run\n"
                      "from ..agents import _agent\nfrom typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from societas.analysis import social\n"
                      "def f():\n    from societas.analysis import opinion\n    import agents\n")
    known = {"societas.simulator._run", "societas.agents._agent", "societas.analysis.opinion"}
    found = [target for _, target in imports("societas.simulator.mod", source, known)]
    assert found[:1] == ["societas.simulator._log"]
    assert {*known, "agents", "typing"} <= set(found)
    assert "societas.analysis.social" not in found
    graph = {"societas.simulator.mod": {"societas.simulator._run"},
             "societas.simulator._run": {"societas.analysis.opinion"}}
    assert _path_to(graph, "societas.simulator.mod", lambda m: m.startswith("societas.analysis")) \
        == ["societas.simulator.mod", "societas.simulator._run", "societas.analysis.opinion"]

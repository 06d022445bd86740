"""Packages outside societas that plug into it, installed for one test as a distribution would be.

`install` writes modules and a ``<name>-0.1.dist-info`` folder (METADATA, entry_points.txt) into
a folder; with that folder on ``sys.path`` (or ``PYTHONPATH`` for a subprocess),
`importlib.metadata` finds the entry points exactly as it finds an installed wheel's.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

COIN_MODULE = '''
"""A user's scenario and backend, defined outside societas."""

from typing import ClassVar

from societas.agents import Agent
from societas.simulator.backends import ScriptedBackend
from societas.simulator.scenario import Choice, Event, Scenario, Sim


class Called(Event):
    kind: ClassVar[str] = "called"
    side: str


class CoinToss(Scenario):
    """Every agent calls heads or tails once."""

    name = "coin_toss_for_test"
    make_agent = staticmethod(Agent.from_spec)
    events = (Called,)
    questions = frozenset({"call"})

    async def run(self, sim: Sim) -> dict[str, int]:
        sim.advance("call")
        calls = await sim.ask_all({a: Choice(name="call", prompt="Heads or tails?",
                                             options=["heads", "tails"]) for a in sim.agents})
        for agent, side in calls.items():
            sim.emit(Called(actor=agent, side=side))
        return {"heads": sum(side == "heads" for side in calls.values())}


def build_echo(config):
    """A backend that always calls heads."""
    return ScriptedBackend(lambda request: "heads", max_batch=config.max_batch)
'''
"""A scenario (`CoinToss`, ``coin_toss_for_test``) and a backend builder (`build_echo`)."""

COIN_ENTRY_POINTS = {
    "societas.scenarios": {"coin_toss_for_test": "coin_plugin:CoinToss"},
    "societas.backends": {"echo_for_test": "coin_plugin:build_echo"},
}


def install(root: Path, name: str, entry_points: dict[str, dict[str, str]],
            modules: dict[str, str]) -> Path:
    """Write `modules` (module name → source) and the distribution `name` into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in points.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    return root


def societas(*args: str, cwd: Path, plugins: Path | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run the installed ``societas`` command, with the packages under `plugins` importable."""
    exe = Path(sys.executable).with_name("societas")
    env = {**os.environ, "COLUMNS": "120"}
    if plugins is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins),
                                                          env.get("PYTHONPATH", "")]))
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)



@contextlib.contextmanager
def coin_plugin_installed(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The coin-toss package installed under `root` and importable, in this process too.

    Yields `root`, to pass as `societas(plugins=...)`; afterwards the registries forget it.
    """
    from societas.simulator import _registry

    install(root, "coin-plugin", COIN_ENTRY_POINTS, {"coin_plugin": COIN_MODULE})
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    try:
        yield root
    finally:
        sys.modules.pop("coin_plugin", None)
        _registry._SCENARIOS.pop("coin_toss_for_test", None)
        _registry._BACKENDS.pop("echo_for_test", None)

"""The wheel holds the whole package and installs beside `openai-agents`, whose top-level package
is also called `agents`: ours lives in the `societas` namespace, so both import in one process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
OPENAI_AGENTS = "openai-agents==0.24.0"


def folder_packages() -> dict[str, Path]:
    """Every folder under the mapped package folders that holds a file: the package it must be."""
    found: dict[str, Path] = {}
    for package, folder in SETUPTOOLS["package-dir"].items():
        root = ROOT / folder
        for path in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            parts = path.relative_to(root).parts
            if "__pycache__" in parts or any(part.startswith(".") for part in parts):
                continue
            if any(f.is_file() and f.suffix != ".pyc" for f in path.iterdir()):
                found[".".join((package, *parts))] = path
    return found


def test_the_packages_list_names_every_folder_with_code_or_data():
    listed, found = set(SETUPTOOLS["packages"]), folder_packages()
    assert {"societas.scenarios.conf.scenario", "societas.scenarios.werewolf.prompts"} <= set(found)
    missing = sorted(set(found) - listed)
    assert not missing, f"pyproject's [tool.setuptools] packages leaves out {missing}: the " \
        "wheel would not hold them"
    assert not listed - set(found), f"pyproject lists packages with no folder: " \
        f"{sorted(listed - set(found))}"


def test_every_data_file_matches_the_package_data_patterns():
    patterns = SETUPTOOLS["package-data"]["*"]
    stray = [str(f.relative_to(ROOT)) for folder in folder_packages().values()
             for f in folder.iterdir() if f.is_file() and f.suffix not in (".py", ".pyc")
             and not any(f.match(pattern) for pattern in patterns)]
    assert not stray, f"files the wheel leaves out (package-data is {patterns}): {stray}"


CHECK_IMPORTS = """
import importlib.metadata as md, json, sys
import agents, societas.agents, societas.analysis, societas.simulator
import analysis  # the folder in the working directory
print(json.dumps({
    "agents_dist": md.packages_distributions().get("agents"),
    "agents_has_Agent": hasattr(agents, "Agent") and hasattr(agents, "Runner"),
    "agents_file": agents.__file__, "ours_file": societas.agents.__file__,
    "ours_has_Agent": hasattr(societas.agents, "Agent"),
    "analysis_file": societas.analysis.__file__, "local_file": analysis.__file__,
    "local_is_ours": getattr(societas.analysis, "LOCAL", False),
    "prefix": sys.prefix}))
"""


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_wheel_installs_beside_openai_agents_in_a_fresh_venv(tmp_path):
    # A fresh venv that installs our dependencies from the index (about a minute here), not one
    # borrowing the test venv's site-packages: the wheel's own dependency list is under test.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for folder in SETUPTOOLS["package-dir"].values():
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path / "wheels"
    pip(sys.executable, "wheel", "--no-deps", str(source), "-w", str(wheels))
    (wheel,) = wheels.glob("societas-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip(python, "install", str(wheel), OPENAI_AGENTS)

    work = tmp_path / "work"  # a local `analysis/` package must not shadow societas.analysis
    (work / "analysis").mkdir(parents=True)
    (work / "analysis" / "__init__.py").write_text("LOCAL = True\n")
    checked = subprocess.run([python, "-c", CHECK_IMPORTS], cwd=work, capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr
    found = json.loads(checked.stdout)
    site = str(Path(found["prefix"]).resolve())
    assert found["agents_dist"] == ["openai-agents"] and found["agents_has_Agent"]
    assert found["agents_file"].startswith(site) and found["ours_file"].startswith(site)
    assert found["ours_has_Agent"] and found["ours_file"] != found["agents_file"]
    assert found["analysis_file"].startswith(site) and not found["local_is_ours"]
    assert found["local_file"] == str(work / "analysis" / "__init__.py")

    for command in ([str(venv / "bin" / "societas")], [python, "-m", "societas.simulator.cli"]):
        run_id = f"smoke-{len(command)}"
        done = subprocess.run(
            [*command, "run", "scenario=donor_game", "backend=scripted", "simulations=2",
             "population.size=4", "scenario.generations=1", "scenario.rounds=2",
             f"out_dir={work / 'runs'}", f"run_id={run_id}"],
            cwd=work, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        manifest = json.loads((work / "runs" / run_id / "manifest.json").read_text())
        assert manifest["status"] == "completed" and manifest["counts"]["event_rows"] > 0
        assert "mean donation fraction" in done.stdout  # societas.analysis's metrics report


def pip(python: str, *args: str) -> None:
    done = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]

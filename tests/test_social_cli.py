"""The README's commands for Werewolf and The Traitors, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("societas")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "120"})


def test_werewolf_and_traitors_run_from_the_command_line_with_their_table_sizes(tmp_path):
    for name, size, side in (("werewolf", 8, "werewolves"), ("traitors", 10, "traitors")):
        done = societas("run", f"scenario={name}", "simulations=4",
                        "population.strategy=heuristic", f"out_dir={name}", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"{side} win rate [95% CI]" in done.stdout and "(n=4)" in done.stdout
        run_dir = next((tmp_path / name).iterdir())
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["config"]["population"]["size"] == size  # the scenario's preset
        shown = societas("show", str(run_dir), cwd=tmp_path)
        assert shown.returncode == 0 and f"{side} win rate" in shown.stdout


def test_role_counts_and_pinned_roles_are_set_from_the_command_line(tmp_path):
    done = societas("run", "scenario=werewolf", "scenario.roles.doctor=0",
                    "scenario.roles.witch=1", "scenario.roles.guard=1",
                    "scenario.roles.villager=2", "population.size=7",
                    "+scenario.fixed_roles.a0=witch", "--show-config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scenario = json.loads(done.stdout)["scenario"]
    assert scenario["roles"] == {"werewolf": 2, "seer": 1, "doctor": 0, "guard": 1, "witch": 1,
                                 "villager": 2}
    assert scenario["fixed_roles"] == {"a0": "witch"}
    wrong = societas("run", "scenario=werewolf", "population.size=12", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "population.size: the roles" in wrong.stderr and "need 8 players" in wrong.stderr

"""Seed and parameter sweeps: Hydra sweep syntax in, one hive-partitioned dataset out.

``societas sweep scenario=donor_game seed='range(100)' population.strategy=a,b`` expands to
runs with Hydra's own override parser, plays them in tasks (a local process pool, or Ray tasks
with ``--ray``), and writes each under ``<out_dir>/sweep/<name>/scenario=…/seed=…/<run_id>/``.
Rerunning the command skips completed runs and redoes interrupted or failed ones.

Nothing here imports Ray until a Ray sweep starts.
"""

from societas.simulator.sweep._driver import SweepResult, SweepRun, sweep
from societas.simulator.sweep._expand import Expansion, RunSpec, expand

__all__ = ["Expansion", "RunSpec", "SweepResult", "SweepRun", "expand", "sweep"]

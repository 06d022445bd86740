"""The ``societas sweep`` subcommand (registered by `simulator.cli.build_parser`).

Kept apart from the sweep package so that building the parser imports nothing heavy.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_sweep_parser(commands: Any) -> None:
    """Add ``sweep`` to the ``societas`` subcommands."""
    sweep = commands.add_parser(
        "sweep", help="run a seed/parameter sweep (Hydra sweep syntax: key=a,b seed='range(10)')",
        description="Expand Hydra sweep overrides into runs and play them locally or on Ray. "
        "Runs land under <out_dir>/sweep/<name>/ as hive partitions (scenario=…/key=value/…); "
        "rerunning the same command skips completed runs and redoes interrupted ones.")
    sweep.add_argument("overrides", nargs="*", help="e.g. scenario=donor_game seed='range(10)' "
                       "population.strategy=always_zero,discriminator")
    sweep.add_argument("--name", help="sweep directory name (default: <scenario>-<digest of the "
                       "overrides>, so the same command resumes the same sweep)")
    sweep.add_argument("--ray", metavar="ADDRESS", help="run on Ray: 'auto' starts a local Ray "
                       "with this machine's cores (or joins the local cluster); else a cluster "
                       "address such as ray://head:10001 or head:6379")
    sweep.add_argument("--workers", type=int, help="without --ray: local worker processes "
                       "(default: one per core; 0 plays the runs in this process)")
    sweep.add_argument("--runs-per-task", type=int, help="runs played together by one task, "
                       "sharing its backend (default: about four tasks per worker, ≤16 runs)")
    sweep.add_argument("--retries", type=int, default=2,
                       help="retries of a task whose worker died (default 2)")
    sweep.add_argument("--no-progress", action="store_true", help="no live progress bar")
    sweep.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep and print where its dataset is; exit 1 when some runs failed."""
    from rich.console import Console
    from rich.table import Table

    from societas.simulator._errors import ConfigError
    from societas.simulator.sweep import sweep

    if args.runs_per_task is not None and args.runs_per_task < 1:
        raise ConfigError("--runs-per-task", f"must be at least 1, got {args.runs_per_task}")
    result = sweep(args.overrides, name=args.name, ray=args.ray, workers=args.workers,
                   runs_per_task=args.runs_per_task, retries=args.retries,
                   progress=not args.no_progress)
    console = Console()
    table = Table(title=f"sweep {result.name}", show_header=False)
    table.add_row("directory", str(result.root))
    table.add_row("partitions", " / ".join(result.partition_keys))
    counts = {s: sum(r.status == s for r in result.runs) for s in ("completed", "skipped",
                                                                   "failed")}
    table.add_row("runs", f"{len(result.runs)}: {counts['completed']} completed now, "
                  f"{counts['skipped']} already completed, {counts['failed']} failed")
    table.add_row("wall time", f"{result.wall_s:.2f} s")
    console.print(table)
    console.print("read every run as one dataset:", style="bold")
    console.print(f"  pl.scan_parquet({result.glob!r}, hive_partitioning=True)",
                  soft_wrap=True, highlight=False)
    for run in result.failed:
        console.print(f"[red]failed[/red] {run.run_dir}: {run.error}")
    return 1 if result.failed else 0

"""Analysis on the ``societas`` command line: ``societas view`` and the metrics section.

Both plug in through entry points declared in pyproject.toml, so the engine's command line never
imports analysis: `add_view_command` is the ``societas.commands`` entry point ``view``, and
`print_metrics` the ``societas.reports`` entry point ``metrics``. Importing this module imports
neither polars nor rich; each function imports what it uses.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from societas.simulator._cli_summary import format_value, plain


def add_view_command(commands: Any) -> None:
    """Add ``view`` (a readable timeline of a run) to the ``societas`` subcommands."""
    view = commands.add_parser("view", help="a readable timeline of a run")
    view.add_argument("run_dir")
    view.add_argument("--agent", help="only events where this agent acts or is the target")
    view.add_argument("--sim", type=int, help="only this simulation")
    view.add_argument("--from", dest="first", type=int, help="first step shown")
    view.add_argument("--to", dest="last", type=int, help="last step shown")
    view.add_argument("--html", help="write a self-contained HTML file instead")
    view.add_argument("--no-pager", dest="pager", action="store_false",
                      help="print without paging")
    view.set_defaults(func=view_run)


def view_run(args: argparse.Namespace) -> int:
    """Print (or write as HTML) the timeline of ``args.run_dir``; returns the exit status."""
    from rich.console import Console

    from societas.analysis.load import manifest
    from societas.analysis.timeline import render, timeline

    manifest(args.run_dir)  # a clear error when it is not a run directory
    entries = timeline(args.run_dir, agent=args.agent, sim=args.sim, first_step=args.first,
                       last_step=args.last)
    if args.html:
        console = Console(record=True, width=120, file=io.StringIO())
        count = render(entries, console)
        Path(args.html).write_text(console.export_html(inline_styles=True))
        print(f"wrote {count} events to {args.html}")
        return 0
    console = Console()
    if args.pager and console.is_terminal:
        with console.pager(styles=True):
            render(entries, console)
    else:
        render(entries, console)
    return 0


def print_metrics(run_dir: Path, console: Any) -> None:
    """Print the run's headline metrics (its scenario's `ScenarioAnalysis.summary`) as a table.

    Prints nothing for a scenario without a summary, or a run without events yet.
    """
    from rich.table import Table

    from societas.analysis import summary_for
    from societas.analysis.load import events, manifest

    summarise = summary_for(manifest(run_dir)["scenario"])
    if summarise is None:
        return
    try:
        metrics = summarise(events(run_dir))
    except FileNotFoundError:
        return
    if not metrics:
        return
    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(plain(name), plain(format_value(value)))
    console.print(table)


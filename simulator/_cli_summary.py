"""The summary ``societas`` prints for a run: its manifest as a table, then plugin sections.

A manifest is untrusted (a run directory may come from anyone), so every value read from it is
shown as plain text through `_display.one_line`: no control character reaches the terminal and
nothing in it is read as rich markup (a ``[bold]`` in a run_id is printed as is).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from societas.simulator._cli_plugins import print_reports
from societas.simulator._display import one_line

if TYPE_CHECKING:
    from rich.text import Text


def print_summary(run_dir: Path, full: bool = False) -> None:
    """Print the run table (everything in the manifest when `full`), then the report sections."""
    from rich.console import Console

    from societas.simulator._log import read_manifest

    manifest = read_manifest(run_dir)
    console = Console()
    console.print(_run_table(run_dir, manifest, full))
    print_reports(run_dir, console)


def plain(value: object) -> Text:
    """`value` as a rich `Text` of one printable line: never markup, never a control code."""
    from rich.text import Text

    return Text(one_line(value))


def _run_table(run_dir: Path, manifest: dict[str, Any], full: bool) -> Any:
    from rich.table import Table

    counts = manifest.get("counts", {})
    table = Table(title=plain(f"{manifest['scenario']} · {manifest['run_id']}"),
                  show_header=False)

    def row(name: object, value: object) -> None:
        table.add_row(plain(name), plain(value))

    row("run directory", run_dir)
    row("status", manifest.get("status", "?"))
    row("seed · simulations", f"{manifest['seed']} · {manifest['simulations']}")
    if "wall_s" in manifest:
        row("wall time", f"{manifest['wall_s']:.2f} s")
    for key in ("decisions", "parse_failures", "fallbacks", "event_rows", "call_rows"):
        if key in counts:
            row(key.replace("_", " "), f"{counts[key]:,}")
    for key, stats in manifest.get("backend_stats", {}).items():
        for name, value in stats.items():
            row(f"{key} {str(name).replace('_', ' ')}", format_value(value))
    if full:
        for key, backend in manifest.get("backend", {}).items():
            row(f"backend ({key})", json.dumps(backend, ensure_ascii=False))
        row("versions", ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()))
        if manifest.get("error"):
            row("error", f"{manifest['error']['type']}: {manifest['error']['message']}")
    return table


def format_value(value: Any) -> str:
    """A number or label as a table cell: grouped digits, four significant figures."""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)

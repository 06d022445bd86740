"""Analysis of run logs with polars.

It reads logs through the engine's log readers; nothing in the engine imports it.

Each scenario's analysis (headline metrics, timeline table) is registered once, through the
``societas.analysis`` entry-point group or `register_analysis` (see `analysis._registry`).
``societas view`` and the metrics table of ``societas run``/``show`` plug into the command line
through the ``societas.commands`` and ``societas.reports`` groups (`analysis._cli`).

Importing this package stays light: polars loads with the first reader used.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from societas.analysis._registry import (
    AnalysisPluginError,
    Describer,
    ScenarioAnalysis,
    Summary,
    analysis_for,
    analysis_names,
    register_analysis,
)

if _TYPE_CHECKING:
    from societas.analysis.load import calls, events, fields, manifest, run_dirs

_LAZY = {name: "load" for name in ("calls", "events", "fields", "manifest", "run_dirs")}


def summary_for(scenario: str) -> Summary | None:
    """The headline-metrics function of a scenario (events LazyFrame → dict), if it has one."""
    analysis = analysis_for(scenario)
    return analysis.summary if analysis is not None else None


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'societas.analysis' has no attribute {name!r}")


__all__ = ["AnalysisPluginError", "Describer", "ScenarioAnalysis", "Summary", "analysis_for",
           "analysis_names", "calls", "events", "fields", "manifest", "register_analysis",
           "run_dirs", "summary_for"]

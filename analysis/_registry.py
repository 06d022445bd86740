"""Each scenario's analysis, registered once: its headline metrics and its timeline table.

A scenario's analysis is a `ScenarioAnalysis`. Installed packages register theirs through the
``societas.analysis`` entry-point group (``scenario_name = "pkg.module:OBJECT"``, OBJECT a
`ScenarioAnalysis`; every shipped scenario has one in pyproject.toml); user code calls
`register_analysis`. A scenario with none gets the generic timeline and no metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

ANALYSIS_GROUP = "societas.analysis"

Describer = str | Callable[[dict[str, Any]], str]
"""How `societas view` shows one kind of event: a format string over the event's fields
(``actor``, ``target`` and the ``data`` keys), or a function of them returning the line."""

Summary = Callable[["pl.LazyFrame"], dict[str, Any]]
"""Headline metrics of one or several runs: their events (`societas.analysis.events`) in, a
``{metric name: value}`` dict out."""


class AnalysisPluginError(ValueError):
    """A ``societas.analysis`` entry point cannot be loaded or is not a `ScenarioAnalysis`."""


@dataclass(frozen=True)
class ScenarioAnalysis:
    """How to analyse one scenario's runs.

    Args:
        summary: its headline metrics, printed by ``societas run`` and ``societas show``
            (None: no metrics table).
        timeline: event kind → `Describer`, used by ``societas view``; kinds without an entry
            are shown generically.
    """

    summary: Summary | None = None
    timeline: Mapping[str, Describer] = field(default_factory=dict)


_ANALYSES: dict[str, ScenarioAnalysis] = {}


def register_analysis(scenario: str, *, summary: Summary | None = None,
                      timeline: Mapping[str, Describer] | None = None) -> ScenarioAnalysis:
    """Register (or replace) the analysis of the scenario named `scenario`; returns it."""
    analysis = ScenarioAnalysis(summary=summary, timeline=dict(timeline or {}))
    _ANALYSES[scenario] = analysis
    return analysis


def analysis_names() -> list[str]:
    """Every scenario with a registered analysis, sorted."""
    return sorted(set(_ANALYSES) | set(_entry_points()))


def analysis_for(scenario: str) -> ScenarioAnalysis | None:
    """The analysis registered for `scenario`, or None when it has none.

    Raises:
        AnalysisPluginError: its entry point cannot be loaded or names something else.
    """
    if scenario not in _ANALYSES:
        ep = _entry_points().get(scenario)
        if ep is None:
            return None
        _ANALYSES[scenario] = _load(ep)
    return _ANALYSES[scenario]


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ANALYSIS_GROUP)}


def _load(ep: EntryPoint) -> ScenarioAnalysis:
    where = f"the {ep.group} entry point {ep.name!r} = {ep.value!r}"
    try:
        loaded = ep.load()
    except Exception as err:
        raise AnalysisPluginError(f"{where} cannot be loaded ({type(err).__name__}: {err}); fix "
                                  "or uninstall the package that declares it") from err
    if not isinstance(loaded, ScenarioAnalysis):
        raise AnalysisPluginError(f"{where} is a {type(loaded).__name__}, not a "
                                  "ScenarioAnalysis; point it at a ScenarioAnalysis object")
    return loaded

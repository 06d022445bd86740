"""Analysis of run logs with polars. Reads logs only; never imports the engine."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from societas.analysis.load import calls, events, fields, manifest, run_dirs

_SUMMARIES = {
    "donor_game": "societas.analysis.donor_game:summary",
    "opinion_model": "societas.analysis.opinion:summary",
    "opinion_dynamics": "societas.analysis.opinion:summary",
    "debate": "societas.analysis.opinion:debate_summary",
    "werewolf": "societas.analysis.werewolf:summary",
    "traitors": "societas.analysis.traitors:summary",
}


def summary_for(scenario: str) -> Callable[[Any], dict[str, Any]] | None:
    """The headline-metrics function of a scenario (events LazyFrame → dict), if it has one."""
    target = _SUMMARIES.get(scenario)
    if target is None:
        return None
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


__all__ = ["calls", "events", "fields", "manifest", "run_dirs", "summary_for"]

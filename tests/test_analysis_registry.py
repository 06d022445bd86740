"""One analysis registry: every scenario's summary and timeline, from entry points or Python."""

from __future__ import annotations

import importlib
import io

import pytest
from rich.console import Console

from societas.analysis import (
    AnalysisPluginError,
    ScenarioAnalysis,
    analysis_for,
    analysis_names,
    register_analysis,
    summary_for,
)
from societas.analysis import _registry as analysis_registry
from societas.analysis._cli import print_metrics
from societas.analysis.timeline import describers, timeline
from societas.simulator import run, scenario_names
from tests._plugins import coin_plugin_installed, install, societas

SHIPPED = ("donor_game", "opinion_model", "opinion_dynamics", "debate", "werewolf", "traitors")


@pytest.fixture
def coin_plugin(tmp_path, monkeypatch):
    with coin_plugin_installed(tmp_path / "site", monkeypatch) as root:
        yield root


def test_every_registered_scenario_has_an_analysis_entry():
    assert set(SHIPPED) <= set(scenario_names())
    missing = [name for name in scenario_names() if analysis_for(name) is None]
    assert missing == [], f"add a societas.analysis entry point for {missing}"
    assert set(scenario_names()) <= set(analysis_names())
    for name in scenario_names():
        analysis = analysis_for(name)
        assert isinstance(analysis, ScenarioAnalysis) and callable(analysis.summary)
    for name in ("donor_game", "werewolf", "traitors"):  # the games with their own timeline
        assert describers(name) == analysis_for(name).timeline and describers(name)


def _coin_run(tmp_path):
    return run({"scenario": {"name": "coin_toss_for_test"}, "population": {"size": 3},
                "out_dir": str(tmp_path / "runs"), "progress": False, "seed": 1})


def _metrics_text(run_dir) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    print_metrics(run_dir, console)
    return console.export_text()


def test_a_scenario_without_analysis_gets_the_generic_timeline_and_no_metrics(coin_plugin,
                                                                             tmp_path):
    result = _coin_run(tmp_path)
    assert analysis_for("coin_toss_for_test") is None and summary_for("coin_toss_for_test") is None
    texts = [e.text for e in timeline(result.run_dir)]
    assert len(texts) == 3 and all(" called (side=" in t for t in texts)
    assert _metrics_text(result.run_dir) == ""


def test_register_analysis_from_python_feeds_view_and_the_metrics_table(coin_plugin, tmp_path):
    import polars as pl

    def heads(events: pl.LazyFrame) -> dict[str, int]:
        called = events.filter(pl.col("kind") == "called").collect()
        return {"calls": called.height}

    register_analysis("coin_toss_for_test", summary=heads,
                      timeline={"called": "{actor} calls {side}"})
    try:
        result = _coin_run(tmp_path)
        texts = [e.text for e in timeline(result.run_dir)]
        assert len(texts) == 3 and all(t.endswith((" calls heads", " calls tails"))
                                       for t in texts)
        shown = _metrics_text(result.run_dir)
        assert "metrics" in shown and "calls" in shown and "3" in shown
    finally:
        analysis_registry._ANALYSES.pop("coin_toss_for_test")


@pytest.fixture
def broken_analysis(tmp_path, monkeypatch):
    root = install(tmp_path / "broken-site", "broken-analysis", {"societas.analysis": {
        "coin_toss_for_test": "missing_module_for_test:ANALYSIS",
        "not_an_analysis_for_test": "coin_plugin:build_echo"}}, {})
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    yield root
    for name in ("coin_toss_for_test", "not_an_analysis_for_test"):
        analysis_registry._ANALYSES.pop(name, None)


def test_a_broken_analysis_entry_point_is_one_line_naming_it(coin_plugin, broken_analysis,
                                                             tmp_path):
    with pytest.raises(AnalysisPluginError) as caught:
        analysis_for("coin_toss_for_test")
    assert str(caught.value).startswith("the societas.analysis entry point 'coin_toss_for_test' "
                                        "= 'missing_module_for_test:ANALYSIS' cannot be loaded")
    with pytest.raises(AnalysisPluginError, match="is a function, not a ScenarioAnalysis"):
        analysis_for("not_an_analysis_for_test")
    run_dir = _coin_run(tmp_path).run_dir
    plugins = f"{coin_plugin}:{broken_analysis}"
    viewed = societas("view", str(run_dir), "--no-pager", cwd=tmp_path, plugins=plugins)
    assert viewed.returncode == 2 and viewed.stderr.count("\n") == 1
    assert "societas: the societas.analysis entry point 'coin_toss_for_test'" in viewed.stderr
    shown = societas("show", str(run_dir), cwd=tmp_path, plugins=plugins)
    assert shown.returncode == 0 and "coin_toss_for_test ·" in shown.stdout  # the run table
    assert "the societas.reports entry point 'metrics'" in shown.stderr
    assert "the societas.analysis entry point 'coin_toss_for_test'" in shown.stderr

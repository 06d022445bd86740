"""Plugins of the ``societas`` command: subcommands and summary sections from entry points."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests._plugins import install, societas

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
from rich.table import Table


def add_hello(commands):
    hello = commands.add_parser("hello", help="greet someone (a plugin command)")
    hello.add_argument("who")
    hello.set_defaults(func=lambda args: print(f"hello, {args.who}") or 0)


def add_nothing(commands):
    pass


def add_run(commands):
    raise AssertionError("never called: 'run' is built in")


def report_files(run_dir, console):
    table = Table(title="files")
    table.add_row("event chunks", str(len(list((run_dir / "events").glob("*.parquet")))))
    console.print(table)


def report_crash(run_dir, console):
    raise RuntimeError("the report fell over")
'''

ENTRY_POINTS = {
    "societas.commands": {"hello": "hello_plugin:add_hello",
                          "broken": "missing_module_for_test:add",
                          "silent": "hello_plugin:add_nothing",
                          "run": "hello_plugin:add_run"},
    "societas.reports": {"files": "hello_plugin:report_files",
                         "crash": "hello_plugin:report_crash",
                         "gone": "missing_module_for_test:report"},
}


@pytest.fixture
def plugins(tmp_path):
    return install(tmp_path / "site", "hello-plugin", ENTRY_POINTS, {"hello_plugin": PLUGIN})


def test_help_lists_plugin_commands_and_a_plugin_command_runs(plugins, tmp_path):
    helped = societas("--help", cwd=tmp_path, plugins=plugins)
    assert helped.returncode == 0
    assert "greet someone (a plugin command)" in helped.stdout
    assert "a readable timeline of a run" in helped.stdout  # analysis's view, also a plugin
    assert helped.stderr.count("\n") == 1  # only the note on the plugin named like `run`
    assert "ignoring the societas.commands entry point 'run'" in helped.stderr
    done = societas("hello", "world", cwd=tmp_path, plugins=plugins)
    assert done.returncode == 0 and done.stdout == "hello, world\n"


@pytest.mark.parametrize(("command", "message"), [
    ("broken", "the societas.commands entry point 'broken' = 'missing_module_for_test:add' "
               "cannot be loaded (ModuleNotFoundError: No module named 'missing_module_for_test'"
               "); fix or uninstall the package that declares it"),
    ("silent", "the societas.commands entry point 'silent' = 'hello_plugin:add_nothing' did not "
               "add a subcommand named 'silent'"),
])
def test_a_broken_plugin_command_fails_in_one_line_naming_its_entry_point(plugins, tmp_path,
                                                                         command, message):
    done = societas(command, "x", cwd=tmp_path, plugins=plugins)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 2  # the ignored `run` plugin's note, then the error
    assert f"societas: {message}" in done.stderr


def test_built_in_commands_load_no_plugin(plugins, tmp_path):
    done = societas("run", "--show-config", cwd=tmp_path, plugins=plugins)
    assert done.returncode == 0 and done.stderr == ""


def test_report_plugins_print_their_sections_and_broken_ones_cost_one_line(plugins, tmp_path):
    done = societas("run", "scenario=donor_game", "backend=scripted", "scenario.generations=2",
                    "progress=false", cwd=tmp_path, plugins=plugins)
    assert done.returncode == 0, done.stderr
    table, files, metrics = (done.stdout.index(t) for t in ("donor_game ·", "files", "metrics"))
    assert table < files < metrics  # the run table, then sections in entry-point name order
    assert "event chunks" in done.stdout
    errors = done.stderr.splitlines()
    assert errors == [
        "societas: the societas.reports entry point 'crash' = 'hello_plugin:report_crash' failed "
        "(RuntimeError: the report fell over); fix or uninstall the package that declares it",
        "societas: the societas.reports entry point 'gone' = 'missing_module_for_test:report' "
        "cannot be loaded (ModuleNotFoundError: No module named 'missing_module_for_test'); "
        "fix or uninstall the package that declares it"]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_cli_is_a_leaf_and_the_engine_never_imports_analysis():
    for folder in ("simulator", "agents", "scenarios", "analysis"):
        for path in (ROOT / folder).rglob("*.py"):
            imported = _imports(path)
            assert "societas.simulator.cli" not in imported, path
            if folder == "simulator":
                assert not any(n.startswith("societas.analysis") for n in imported), path

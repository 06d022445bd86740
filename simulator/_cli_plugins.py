"""Subcommands and run-summary sections that installed packages add to ``societas``.

The engine's command line imports nothing above the engine; analysis (ours included) plugs in
through two entry-point groups, each loaded only when it is needed:

``societas.commands``
    ``name = "pkg.module:add"``. ``add(commands)`` receives the ``societas`` parser's
    subcommands (the object `argparse.ArgumentParser.add_subparsers` returns) and adds the
    subcommand ``name`` with ``commands.add_parser(name, help=...)``, setting
    ``func`` (``set_defaults(func=...)``) to a function of the parsed `argparse.Namespace` that
    returns the exit status. Loaded when ``societas`` is given a command that is not built in,
    or ``--help``. ``societas.analysis`` adds ``view``.
``societas.reports``
    ``name = "pkg.module:report"``. ``report(run_dir, console)`` receives a finished run's
    directory (`pathlib.Path`) and a `rich.console.Console`, and prints one section of the run's
    summary (after ``run``, ``resume`` and ``fork``, and in ``show``), below the run table, in
    name order. ``societas.analysis`` adds ``metrics``.

A plugin that cannot be loaded or that fails costs one line naming its entry point (a broken
command, when it is run; a broken report, on stderr) and leaves everything else working.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from societas.simulator._display import one_line

COMMANDS_GROUP = "societas.commands"
REPORTS_GROUP = "societas.reports"


class PluginError(Exception):
    """A ``societas`` plugin (entry point) cannot be loaded or does not work."""


def plugin_entry_points(group: str) -> list[EntryPoint]:
    """The entry points of `group`, sorted by name (one per name: the first installed wins)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    return [found[name] for name in sorted(found)]


def _failure(ep: EntryPoint, what: str, err: BaseException) -> str:
    reason = one_line(" ".join(str(err).split()))
    return (f"the {ep.group} entry point {ep.name!r} = {ep.value!r} {what} "
            f"({type(err).__name__}: {reason}); fix or uninstall the package that declares it")


def add_plugin_commands(commands: Any, builtin: Collection[str]) -> None:
    """Add every ``societas.commands`` plugin to the parser's subcommands.

    A plugin that cannot be loaded, or does not add its command, becomes a command of that name
    which fails with one line saying so; a plugin named like a built-in command is ignored (one
    line on stderr).
    """
    for ep in plugin_entry_points(COMMANDS_GROUP):
        if ep.name in builtin:
            print(f"societas: ignoring the {ep.group} entry point {ep.name!r} = {ep.value!r}: "
                  f"{ep.name!r} is a built-in command; rename it", file=sys.stderr)
            continue
        try:
            ep.load()(commands)
        except Exception as err:
            _add_broken(commands, ep, _failure(ep, "cannot be loaded", err))
            continue
        if ep.name not in commands.choices:
            _add_broken(commands, ep, f"the {ep.group} entry point {ep.name!r} = {ep.value!r} "
                        f"did not add a subcommand named {ep.name!r}; fix or uninstall the "
                        "package that declares it")


def _add_broken(commands: Any, ep: EntryPoint, message: str) -> None:
    def fail(args: Any) -> int:
        raise PluginError(message)

    if ep.name in commands.choices:  # it failed halfway: keep its parser, replace its action
        commands.choices[ep.name].set_defaults(func=fail)
        return
    broken = commands.add_parser(ep.name, help=f"(broken plugin {ep.value!r})", add_help=False)
    broken.add_argument("rest", nargs="*")
    broken.set_defaults(func=fail)


def print_reports(run_dir: Path, console: Any) -> None:
    """Print every ``societas.reports`` section of the run's summary onto `console`."""
    for ep in plugin_entry_points(REPORTS_GROUP):
        try:
            report: Callable[[Path, Any], None] = ep.load()
        except Exception as err:
            print(f"societas: {_failure(ep, 'cannot be loaded', err)}", file=sys.stderr)
            continue
        try:
            report(run_dir, console)
        except Exception as err:
            print(f"societas: {_failure(ep, 'failed', err)}", file=sys.stderr)

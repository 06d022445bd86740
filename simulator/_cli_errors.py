"""What the ``societas`` command prints for an error: one line and an exit code.

* `SocietasError`: its own one-line message. Exit 1 for a failed run (`SimulationError`), 2 for
  the rest (config, usage, run directory, trust).
* Errors from outside Societas that a user can still cause, mapped here with the file named:
  `OSError` (a path that is a file, a folder that cannot be written, a server that cannot be
  reached; exit 2), an unreadable Parquet file (pyarrow; exit 2), run-directory text that rich
  reads as markup (exit 1), and `ValueError` (the message of a refused value; exit 2).
* Anything else is a bug in Societas: one line saying so, exit 1.

``--debug`` shows the traceback instead (`simulator.cli.main` re-raises).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

from societas.simulator._cli_plugins import PluginError
from societas.simulator._display import one_line
from societas.simulator._errors import (
    ConfigError,
    ReplayDivergence,
    RunDirectoryError,
    SimulationError,
    SocietasError,
)

#: The exit code of an expected error that is not a failed run (config, usage, run directory).
USAGE = 2
#: The exit code of a failed run, and of a bug.
FAILED = 1


class UsageError(SocietasError):
    """The command line itself is wrong (an unknown command or option, a missing argument)."""


def describe(err: Exception, where: str | None = None) -> tuple[str, int]:
    """The one line (without the ``societas:`` prefix) and the exit code for `err`.

    Args:
        err: the exception that ended the command.
        where: the run directory or path the command was given, named when `err` does not.
    """
    if isinstance(err, ReplayDivergence):
        return _flat(str(err)), FAILED
    if isinstance(err, SimulationError):
        return _flat(f"the run failed: {err} (everything logged before the failure is in the "
                     "run directory; its manifest holds the traceback)"), FAILED
    if isinstance(err, ConfigError):
        return _flat(f"config error: {err}"), USAGE
    if isinstance(err, SocietasError | PluginError):
        return _flat(str(err)), USAGE
    if isinstance(err, OSError):
        return _os_error(err), USAGE
    if _is_arrow_error(err):
        return _flat(f"{where + ': ' if where else ''}unreadable Parquet data: {err}"), USAGE
    if _is_markup_error(err):
        return _flat(f"{where + ': ' if where else ''}text in the run directory could not be "
                     f"shown (rich markup: {err}); this is a bug in Societas's display, please "
                     "report it (--debug shows the traceback)"), FAILED
    if isinstance(err, json.JSONDecodeError):
        return _flat(f"{where + ': ' if where else ''}a JSON file is not valid JSON: {err}"), USAGE
    if isinstance(err, ValueError):
        return _flat(str(err) or type(err).__name__), USAGE
    return _flat(f"internal error ({type(err).__name__}: {err}); this is a bug in Societas, "
                 "please report it with the output of the same command run with --debug, "
                 "which shows the traceback"), FAILED


#: What `check_manifest` requires of a manifest that a command re-executes (replay, resume, fork).
RERUN_KEYS = {"run_id": str, "status": str, "config": dict}


def check_manifest(run_dir: str, required: Mapping[str, type] | None = None) -> None:
    """Refuse a ``manifest.json`` in `run_dir` that is not a JSON object, naming the file.

    Args:
        run_dir: the run directory a command was given; a missing manifest is left to the
            command (which says the folder is not a run directory).
        required: keys the command reads, with the JSON type each must have.
    """
    from societas.simulator._log import read_manifest  # pyarrow: only for these commands

    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        return
    manifest = read_manifest(run_dir)  # refuses one that is not a JSON object, naming it
    for key, kind in (required or {}).items():
        if not isinstance(manifest.get(key), kind):
            found = "has no" if key not in manifest else "has a wrong"
            raise RunDirectoryError(f"{path} {found} {key!r} (a run writes it as a JSON "
                                    f"{'object' if kind is dict else 'string'}); restore the "
                                    "manifest the run wrote")


def _os_error(err: OSError) -> str:
    """An OSError as one line naming its file (``path: reason``), or its own message."""
    if err.filename is None:
        return _flat(str(err))
    reason = err.strerror or type(err).__name__
    target = f" -> {err.filename2}" if err.filename2 is not None else ""
    return _flat(f"{err.filename}{target}: {reason}")


def _is_arrow_error(err: Exception) -> bool:
    arrow = sys.modules.get("pyarrow.lib")  # imported only if the command read Parquet
    return arrow is not None and isinstance(err, arrow.ArrowException)


def _is_markup_error(err: Exception) -> bool:
    errors = sys.modules.get("rich.errors")
    return errors is not None and isinstance(err, errors.MarkupError)


def _flat(text: str) -> str:
    """`text` on one line: whitespace runs become one space, other controls visible escapes."""
    return one_line(" ".join(text.split()))

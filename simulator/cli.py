"""The ``societas`` command: ``run`` a scenario from Hydra overrides, ``show`` a finished run.

Installed packages add subcommands and sections of a run's summary through the
``societas.commands`` and ``societas.reports`` entry-point groups (``societas view`` and the
metrics table come from ``societas.analysis`` that way); nothing in the package imports this
module.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from societas.simulator._cli_plugins import PluginError, add_plugin_commands
from societas.simulator._cli_summary import print_summary
from societas.simulator._errors import ConfigError, ReplayDivergence, SimulationError
from societas.simulator._sweep_cli import add_sweep_parser

#: The commands built into ``societas``; any other comes from a ``societas.commands`` plugin.
BUILTIN_COMMANDS = ("run", "show", "replay", "resume", "fork", "sweep")


def _cmd_run(args: argparse.Namespace) -> int:
    from societas.simulator._compose import compose_config
    from societas.simulator._run import run
    from societas.simulator._setup import plan_run

    raw = compose_config(args.overrides)
    plan = plan_run(raw)  # validate fully before printing or starting anything
    if args.show_config:
        print(json.dumps(plan.config.model_dump(mode="json"), indent=2))
        return 0
    result = run(plan.config)
    print_summary(result.run_dir)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from societas.simulator._replay import replay

    report = replay(args.run_dir, out_dir=args.out, progress=args.progress)
    verdict = "identical" if report.identical else "DIFFERENT"
    print(f"replayed {report.run_dir} offline in {report.wall_s:.1f} s: event log {verdict}")
    print(f"  recorded {report.recorded_hash}\n  replayed {report.replayed_hash}")
    print(f"  calls log {'identical' if report.calls_identical else 'different'}")
    if report.replay_dir is not None:
        print(f"  replay kept in {report.replay_dir}")
    if report.first_difference:
        print(f"  first difference: {report.first_difference}")
    return 0 if report.identical else 1


def _cmd_resume(args: argparse.Namespace) -> int:
    from societas.simulator._replay import resume

    result = resume(args.run_dir)
    if result is None:
        print(f"{args.run_dir} has already completed; nothing to resume")
        return 0
    print_summary(result.run_dir)
    return 0


def _cmd_fork(args: argparse.Namespace) -> int:
    from societas.simulator._replay import fork

    result = fork(args.run_dir, at=args.at, overrides=args.overrides, run_id=args.run_id,
                  out_dir=args.out, allow_prompt_changes=args.allow_prompt_changes)
    print(f"forked {args.run_dir} at step {args.at}")
    print_summary(result.run_dir)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    print_summary(Path(args.run_dir), full=True)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The argument parser of the ``societas`` command (with plugin commands, if `plugins`)."""
    summary = (__doc__ or "").partition("\n")[0]
    parser = argparse.ArgumentParser(prog="societas", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a scenario (Hydra overrides: key=value ...)")
    run.add_argument("overrides", nargs="*", help="e.g. scenario=donor_game seed=3 "
                     "population.size=12 backend=scripted")
    run.add_argument("--show-config", action="store_true",
                     help="print the validated config and exit")
    run.set_defaults(func=_cmd_run)
    show = commands.add_parser("show", help="print a run's manifest and metrics")
    show.add_argument("run_dir")
    show.set_defaults(func=_cmd_show)
    replay = commands.add_parser("replay", help="re-execute a run offline from its log and "
                                 "check the event log is identical")
    replay.add_argument("run_dir")
    replay.add_argument("--out", help="keep the replayed run under this folder")
    replay.add_argument("--progress", action="store_true", help="show a progress bar")
    replay.set_defaults(func=_cmd_replay)
    resume = commands.add_parser("resume", help="continue an interrupted or crashed run")
    resume.add_argument("run_dir")
    resume.set_defaults(func=_cmd_resume)
    fork = commands.add_parser("fork", help="a new run sharing a run's history before a step")
    fork.add_argument("run_dir")
    fork.add_argument("--at", type=int, required=True, help="the first step that may differ")
    fork.add_argument("overrides", nargs="*", help="changes from the fork step on, e.g. "
                      "backend.temperature=1.2 population.strategy=always_all")
    fork.add_argument("--run-id", help="name of the new run (default: <parent>-fork<STEP>-…)")
    fork.add_argument("--out", help="folder of the new run (default: beside the parent)")
    fork.add_argument("--allow-prompt-changes", action="store_true",
                      help="accept overrides that change prompts before the fork step")
    fork.set_defaults(func=_cmd_fork)
    add_sweep_parser(commands)
    if plugins:
        add_plugin_commands(commands, BUILTIN_COMMANDS)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``societas`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # plugins load only for a command that is not built in (or for --help)
    parser = build_parser(plugins=_command_of(argv) not in BUILTIN_COMMANDS)
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command not in ("run", "fork", "sweep")
                  or any(e.startswith("-") for e in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]  # overrides given after an --option
    signal.signal(signal.SIGTERM, _interrupt)  # a polite kill ends like Ctrl-C: log flushed
    try:
        return int(args.func(args))
    except ReplayDivergence as err:
        print(f"societas: {err}", file=sys.stderr)
        return 1
    except SimulationError as err:
        print(f"societas: the run failed: {err}\n(everything logged before the failure is in "
              "the run directory; its manifest holds the traceback)", file=sys.stderr)
        return 1
    except ConfigError as err:
        print(f"societas: config error: {err}", file=sys.stderr)
        return 2
    except PluginError as err:
        print(f"societas: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"societas: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("societas: interrupted; the run directory keeps every chunk written so far",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

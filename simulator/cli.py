"""The ``societas`` command: ``run`` a scenario from Hydra overrides, ``show`` a finished run.

Installed packages add subcommands and sections of a run's summary through the
``societas.commands`` and ``societas.reports`` entry-point groups (``societas view`` and the
metrics table come from ``societas.analysis`` that way); nothing in the package imports this
module.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from societas.simulator._cli_errors import RERUN_KEYS, UsageError, check_manifest, describe
from societas.simulator._cli_plugins import add_plugin_commands
from societas.simulator._cli_summary import print_summary
from societas.simulator._signals import install_signal_handlers, interruption
from societas.simulator._sweep_cli import add_sweep_parser

#: The commands built into ``societas``; any other comes from a ``societas.commands`` plugin.
BUILTIN_COMMANDS = ("run", "show", "replay", "resume", "fork", "sweep", "check")


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

    check_manifest(args.run_dir, RERUN_KEYS)
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
    from societas.simulator._trust import parse_confirmations

    check_manifest(args.run_dir, RERUN_KEYS)
    result = resume(args.run_dir, trust_manifest=args.trust_manifest,
                    backend_overrides=parse_confirmations(args.confirm))
    if result is None:
        print(f"{args.run_dir} has already completed; nothing to resume")
        return 0
    print_summary(result.run_dir)
    return 0


def _cmd_fork(args: argparse.Namespace) -> int:
    from societas.simulator._replay import fork

    if args.at < 0:
        raise UsageError(f"fork: --at must be a step >= 0, got {args.at} "
                         "(see societas fork --help)")
    check_manifest(args.run_dir, RERUN_KEYS)
    result = fork(args.run_dir, at=args.at, overrides=args.overrides, run_id=args.run_id,
                  out_dir=args.out, allow_prompt_changes=args.allow_prompt_changes,
                  trust_manifest=args.trust_manifest)
    print(f"forked {args.run_dir} at step {args.at}")
    print_summary(result.run_dir)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from societas.simulator._check import check_run

    report = check_run(args.run_dir)
    for problem in report.problems:
        print(f"  {problem}")
    print(report.verdict())
    return 0 if report.sound else 1


def _cmd_show(args: argparse.Namespace) -> int:
    check_manifest(args.run_dir)
    print_summary(Path(args.run_dir), full=True)
    return 0


_TRUST_HELP = ("use the endpoints (backend.base_url, Ray address) and backend.api_key_env the "
               "manifest names without confirming them on the command line")


class _Parser(argparse.ArgumentParser):
    """An argument parser (and subparsers) whose usage errors are one-line `UsageError`s."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("societas").strip()
        raise UsageError(f"{command + ': ' if command else ''}{message} (see {self.prog} --help)")


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The argument parser of the ``societas`` command (with plugin commands, if `plugins`)."""
    summary = (__doc__ or "").partition("\n")[0]
    parser = _Parser(prog="societas", description=summary)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error "
                        "(also accepted after the subcommand)")
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
    resume.add_argument("confirm", nargs="*", metavar="backend.KEY=VALUE",
                        help="the endpoints and api_key_env to use (confirming or replacing the "
                        "manifest's), e.g. backend.base_url=URL backend.api_key_env=NAME")
    resume.add_argument("--trust-manifest", action="store_true", help=_TRUST_HELP)
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
    fork.add_argument("--trust-manifest", action="store_true", help=_TRUST_HELP)
    fork.set_defaults(func=_cmd_fork)
    check = commands.add_parser("check", help="verify a run directory (chunks, hashes, rows, "
                                "counts) without changing it; exit 1 when it is not sound")
    check.add_argument("run_dir")
    check.set_defaults(func=_cmd_check)
    add_sweep_parser(commands)
    if plugins:
        add_plugin_commands(commands, BUILTIN_COMMANDS)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``societas`` console script; returns its exit code.

    Every error ends as one line ``societas: <message>`` on stderr (`_cli_errors.describe`):
    exit 2 for config, usage, run-directory and trust errors, 1 for a failed run and for a bug
    (an exception no user input should cause, printed as such), 130/143 for SIGINT/SIGTERM.
    ``--debug``, before or after the subcommand, shows the traceback instead.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    args: argparse.Namespace | None = None
    try:
        install_signal_handlers()  # SIGINT and SIGTERM end a run one clean way (see _signals)
        if _command_of(argv) is None and any(a not in ("-h", "--help") for a in argv):
            raise UsageError(f"unrecognized arguments: {' '.join(argv)} (see societas --help)")
        # plugins load only for a command that is not built in (or for --help)
        parser = build_parser(plugins=_command_of(argv) not in BUILTIN_COMMANDS)
        args, extra = parser.parse_known_args(argv)
        if extra and (args.command not in ("run", "fork", "sweep")
                      or any(e.startswith("-") for e in extra)):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if extra:
            args.overrides = [*args.overrides, *extra]  # overrides given after an --option
        return int(args.func(args))
    except (KeyboardInterrupt, Exception) as err:
        stop = interruption(err)  # a signal, or an error a signal caused mid-way
        if stop is not None:
            print(f"societas: interrupted by {stop.name}; the run directory keeps every chunk "
                  "written so far (societas resume RUN_DIR continues it)", file=sys.stderr)
            return stop.exit_code
        if debug or not isinstance(err, Exception):
            raise
        line, code = describe(err, getattr(args, "run_dir", None))
        print(f"societas: {line}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())

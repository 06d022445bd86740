"""The ``societas`` command: ``run`` a scenario from Hydra overrides, ``show`` a finished run."""

from __future__ import annotations

import argparse
import io
import json
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from societas.simulator._errors import ConfigError, ReplayDivergence, SimulationError
from societas.simulator._sweep_cli import add_sweep_parser

CONFIG_MODULE = "societas.scenarios.conf"


def compose_config(overrides: Sequence[str]) -> dict[str, Any]:
    """Compose the Hydra config tree with command-line overrides into a plain dict."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides))
        raw = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError("", _one_line(err)) from None
    assert isinstance(raw, dict)
    return {str(k): v for k, v in raw.items()}


def _one_line(err: BaseException) -> str:
    """Hydra's message folded onto one line, led by the key path it concerns."""
    text = " ".join(f"{err} {err.__cause__ or ''}".split())
    missing = re.search(r"Could not find '([^/']+)/([^']+)'.*?Available options in '[^']+': "
                        r"(.*?) Config search path", text)
    if missing:
        group, option, options = missing.groups()
        return f"{group}: unknown option {option!r}; available: {options.replace(' ', ', ')}"
    override = re.search(r"Could not override '([^']+)'", text)
    if override:
        key = override.group(1)
        missing = re.search(r"Key '([^']+)' is not in struct", text)
        if missing and missing.group(1) != key.rpartition(".")[2]:
            return (f"{key}: has no key {missing.group(1)!r} in the config; to set new keys "
                    f"inside it, write +{key}=...")
        return f"{key}: unknown key (to add a key that is not in the config, write +{key}=...)"
    return text


def _cmd_run(args: argparse.Namespace) -> int:
    from societas.simulator._run import run
    from societas.simulator._setup import plan_run

    raw = compose_config(args.overrides)
    plan = plan_run(raw)  # validate fully before printing or starting anything
    if args.show_config:
        print(json.dumps(plan.config.model_dump(mode="json"), indent=2))
        return 0
    result = run(plan.config)
    _print_summary(result.run_dir)
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
    _print_summary(result.run_dir)
    return 0


def _cmd_fork(args: argparse.Namespace) -> int:
    from societas.simulator._replay import fork

    result = fork(args.run_dir, at=args.at, overrides=args.overrides, run_id=args.run_id,
                  out_dir=args.out, allow_prompt_changes=args.allow_prompt_changes)
    print(f"forked {args.run_dir} at step {args.at}")
    _print_summary(result.run_dir)
    return 0


def _cmd_view(args: argparse.Namespace) -> int:
    from rich.console import Console

    from societas.analysis.timeline import render, timeline
    from societas.simulator._log import read_manifest

    read_manifest(args.run_dir)  # a clear error when it is not a run directory
    entries = timeline(args.run_dir, agent=args.agent, sim=args.sim, first_step=args.first,
                       last_step=args.last)
    if args.html:
        console = Console(record=True, width=120, file=io.StringIO())
        count = render(entries, console)
        Path(args.html).write_text(console.export_html(inline_styles=True))
        print(f"wrote {count} events to {args.html}")
        return 0
    console = Console()
    if args.pager and console.is_terminal:
        with console.pager(styles=True):
            render(entries, console)
    else:
        render(entries, console)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    _print_summary(Path(args.run_dir), full=True)
    return 0


def _print_summary(run_dir: Path, full: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    from societas.simulator._log import read_manifest

    manifest = read_manifest(run_dir)
    console = Console()
    counts = manifest.get("counts", {})
    table = Table(title=f"{manifest['scenario']} · {manifest['run_id']}", show_header=False)
    table.add_row("run directory", str(run_dir))
    table.add_row("status", manifest.get("status", "?"))
    table.add_row("seed · simulations", f"{manifest['seed']} · {manifest['simulations']}")
    if "wall_s" in manifest:
        table.add_row("wall time", f"{manifest['wall_s']:.2f} s")
    for key in ("decisions", "parse_failures", "fallbacks", "event_rows", "call_rows"):
        if key in counts:
            table.add_row(key.replace("_", " "), f"{counts[key]:,}")
    for key, stats in manifest.get("backend_stats", {}).items():
        for name, value in stats.items():
            table.add_row(f"{key} {name.replace('_', ' ')}", _fmt(value))
    if full:
        for key, backend in manifest.get("backend", {}).items():
            table.add_row(f"backend ({key})", json.dumps(backend))
        table.add_row("versions", ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()))
        if manifest.get("error"):
            table.add_row("error", f"{manifest['error']['type']}: {manifest['error']['message']}")
    console.print(table)
    metrics = _metrics(run_dir, manifest["scenario"])
    if metrics:
        mt = Table(title="metrics")
        mt.add_column("metric")
        mt.add_column("value", justify="right")
        for name, value in metrics.items():
            mt.add_row(name, _fmt(value))
        console.print(mt)


def _metrics(run_dir: Path, scenario: str) -> dict[str, Any]:
    from societas.analysis import events, summary_for

    summarise = summary_for(scenario)
    if summarise is None:
        return {}
    try:
        return summarise(events(run_dir))
    except FileNotFoundError:
        return {}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``societas`` command."""
    parser = argparse.ArgumentParser(prog="societas", description=__doc__)
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
    view = commands.add_parser("view", help="a readable timeline of a run")
    view.add_argument("run_dir")
    view.add_argument("--agent", help="only events where this agent acts or is the target")
    view.add_argument("--sim", type=int, help="only this simulation")
    view.add_argument("--from", dest="first", type=int, help="first step shown")
    view.add_argument("--to", dest="last", type=int, help="last step shown")
    view.add_argument("--html", help="write a self-contained HTML file instead")
    view.add_argument("--no-pager", dest="pager", action="store_false",
                      help="print without paging")
    view.set_defaults(func=_cmd_view)
    add_sweep_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``societas`` console script."""
    parser = build_parser()
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
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"societas: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("societas: interrupted; the run directory keeps every chunk written so far",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

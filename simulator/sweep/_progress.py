"""The sweep's live tally: runs done, running and failed; decisions/s and tokens/s."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from societas.simulator.sweep._group import RunReport


@dataclass
class SweepTally:
    """Run states and throughput, fed by progress messages and task results (idempotent)."""

    total: int
    skipped: int = 0
    started: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)
    finished: dict[str, RunReport] = field(default_factory=dict)
    live_tokens: dict[int, int] = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)

    def take(self, message: dict[str, Any]) -> None:
        """Apply one progress message from a task."""
        kind = message.get("type")
        if kind == "started":
            run_id = message["run_id"]
            self.started.add(run_id)
            self.attempts[run_id] = self.attempts.get(run_id, 0) + 1
        elif kind == "finished":
            self.record(RunReport(**message["report"]))
        elif kind == "tokens":
            self.live_tokens[int(message["pid"])] = int(message["tokens_out"])

    def record(self, report: RunReport) -> None:
        """Apply a run's final report."""
        previous = self.finished.get(report.run_id)
        if report.status == "skipped" and previous is not None:
            return  # a retried task skips what its killed attempt completed: keep that report
        if report.status == "skipped":
            self.skipped += 1
        self.finished[report.run_id] = report

    @property
    def done(self) -> int:
        """Runs completed (in this invocation or before)."""
        return sum(r.status in ("completed", "skipped") for r in self.finished.values())

    @property
    def failed(self) -> int:
        """Runs that failed."""
        return sum(r.status == "failed" for r in self.finished.values())

    @property
    def running(self) -> int:
        """Runs started and not finished."""
        return len(self.started - set(self.finished))

    def rates(self) -> tuple[float, float]:
        """Decisions/s and tokens/s of the runs played by this invocation."""
        elapsed = max(time.perf_counter() - self.began, 1e-9)
        played = [r for r in self.finished.values() if r.status != "skipped"]
        decisions = sum(r.decisions for r in played)
        tokens = sum(r.tokens_out for r in played) + sum(self.live_tokens.values())
        return decisions / elapsed, tokens / elapsed

    def line(self) -> str:
        """One status line."""
        decisions, tokens = self.rates()
        return (f"{self.done}/{self.total} done · {self.running} running · {self.failed} failed"
                f" · {decisions:,.0f} decisions/s · {tokens:,.0f} tok/s")


@contextlib.contextmanager
def show(tally: SweepTally, title: str, enabled: bool) -> Iterator[Any]:
    """A rich progress bar over the sweep's runs; yields a ``refresh()`` function."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("runs · {task.fields[status]}"), TimeElapsedColumn(),
                        console=Console(file=sys.stderr))
    bar = progress.add_task(title, total=tally.total, status="")

    def refresh() -> None:
        decisions, tokens = tally.rates()
        progress.update(bar, completed=tally.done + tally.failed,
                        status=f"{tally.running} running · {tally.failed} failed · "
                        f"{decisions:,.0f} decisions/s · {tokens:,.0f} tok/s")

    with progress:
        yield refresh
        refresh()

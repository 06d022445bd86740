"""A live progress display for long runs (rich, imported only when shown)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from societas.simulator._engine import Counters


@contextlib.asynccontextmanager
async def show_progress(counters: Counters, title: str, enabled: bool,
                        extra: Callable[[], dict[str, Any]] | None = None) -> AsyncIterator[None]:
    """Show simulations done, step, decisions/s and tokens/s while the body runs."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("sims · step {task.fields[step]} · {task.fields[decisions]} decisions · "
                   "{task.fields[rate]}/s{task.fields[tokens]}"),
        TimeElapsedColumn(), console=Console(file=sys.stderr), transient=False,
    )
    task = progress.add_task(title, total=counters.simulations, step=0, decisions=0, rate="0",
                             tokens="")

    shown = time.perf_counter()  # after the backends opened: model start-up is not counted

    def refresh() -> None:
        elapsed = max(time.perf_counter() - max(counters.started, shown), 1e-9)
        tokens = ""
        stats = extra() if extra else {}
        if stats.get("tokens_out"):
            tokens = f" · {stats['tokens_out'] / elapsed:,.0f} tok/s"
        progress.update(task, total=counters.simulations, completed=counters.simulations_done,
                        step=counters.max_step,
                        decisions=f"{counters.decisions:,}",
                        rate=f"{counters.decisions / elapsed:,.0f}", tokens=tokens)

    async def poll() -> None:
        while True:
            refresh()
            await asyncio.sleep(0.25)

    with progress:
        poller = asyncio.get_running_loop().create_task(poll())
        try:
            yield
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            refresh()

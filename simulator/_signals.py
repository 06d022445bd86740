"""SIGINT and SIGTERM end a run one clean way: the run is cancelled at an `await`, never hit.

One Python handler serves both signals for the whole process, so there is never a moment when
a signal finds the default action (which would kill the process mid-write). While a run's event
loop is running, the handler records the signal and asks the loop (`call_soon_threadsafe`) to
cancel the main task: the run unwinds through its ``finally`` blocks at an ``await`` (log
flushed, manifest "interrupted", backends closed, their child processes ended) and `run` raises
`Interrupted`. A wake-up socket (`signal.set_wakeup_fd`) makes the loop notice a signal even
while it waits for I/O and another thread took the signal. Outside the loop (before or after a
run) the handler raises `Interrupted` at once: synchronous code holds no tasks that could be
left behind. While the loop starts and closes, a signal is only recorded, and raised when that
is done. Repeated signals are ignored: a second Ctrl-C does not abort the flush (``kill -9``
still ends anything; `resume` survives it).

The CLI turns `Interrupted` into one line on stderr and exit code 128 + signal number (130 for
SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT or SIGTERM; `exit_code` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal."""
        return 128 + self.signum

    @property
    def name(self) -> str:
        """SIGINT or SIGTERM."""
        return signal.Signals(self.signum).name


class _State:
    received: int | None = None
    """The first signal received, if any."""
    raised: bool = False
    """Whether `Interrupted` was raised already (it is raised once)."""
    deferred: int = 0
    """Nesting depth of sections where a signal is only recorded."""
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    """The running loop and the main task a signal cancels."""


_state = _State()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """The one handler: cancel the running run, else raise `Interrupted` (once) or record."""
    first = _state.received is None
    if first:
        _state.received = signum
    if _state.loop is not None:
        if first:
            _state.loop.call_soon_threadsafe(_cancel_main)
        return
    # Some libraries (polars) raise a KeyboardInterrupt of their own on SIGINT: while one is
    # being handled, raising again would only put a traceback where the one line should be.
    unwinding = isinstance(sys.exc_info()[1], KeyboardInterrupt)
    if not _state.deferred and not _state.raised and not unwinding:
        _state.raised = True
        raise Interrupted(_state.received or signum)


def _cancel_main() -> None:
    if _state.task is not None:
        _state.task.cancel()


def install_signal_handlers() -> None:
    """Make SIGINT and SIGTERM end the process cleanly (the CLI calls this first thing).

    At exit they are ignored: the interpreter's finalization puts Python-handled signals back
    to their default action (ending the process with no exit code of its own), while an
    ignored one stays ignored; the work is done by then.
    """
    _state.received, _state.raised = None, False
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)
    atexit.unregister(_ignore_at_exit)
    atexit.register(_ignore_at_exit)


def _ignore_at_exit() -> None:
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def interruption(err: BaseException) -> Interrupted | None:
    """The interruption that `err` is, or was caused by; None for an error of its own.

    A library's own KeyboardInterrupt counts as the signal received, and so does any error
    raised after a signal (a library whose cleanup fails when `Interrupted` hits it mid-way
    turns it into another exception: Hydra's composition does).
    """
    if isinstance(err, Interrupted):
        _state.raised = True
        return err
    if isinstance(err, KeyboardInterrupt) or _state.received is not None:
        _state.raised = True
        return Interrupted(_state.received or signal.SIGINT)
    return None


def raise_if_signalled() -> None:
    """Raise `Interrupted` if a signal came while it could not be raised."""
    if _state.received is not None and not _state.raised:
        _state.raised = True
        raise Interrupted(_state.received)


_OURS: dict[signal.Signals, tuple[Any, ...]] = {
    signal.SIGINT: (signal.default_int_handler, _on_signal),
    signal.SIGTERM: (_on_signal,),  # a library caller's SIGTERM (default: exit) is left alone
}


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` where SIGINT and SIGTERM cancel `main` and raise `Interrupted`.

    Takes over SIGINT where its handler is Python's default (as `asyncio.run` does) or the CLI's,
    SIGTERM only where it is the CLI's (a library caller's process, a sweep's pool worker, keep
    their SIGTERM), and only in the main thread; the previous handlers are back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(main)
    _state.received, _state.raised = None, False  # a new run: earlier signals are spent
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    ours = [sig for sig in SIGNALS if previous[sig] in _OURS[sig]]
    for sig in ours:
        signal.signal(sig, _on_signal)  # from one Python handler to another: no gap
    try:
        with _deferring():
            try:
                with asyncio.Runner() as runner:
                    result = runner.run(_guarded(main, bool(ours)))
            except asyncio.CancelledError:
                if _state.received is None:
                    raise
                _state.raised = True
                raise Interrupted(_state.received) from None
    finally:
        for sig in ours:
            if previous[sig] is not _on_signal:
                signal.signal(sig, previous[sig])
    if ours:
        raise_if_signalled()
    return result


async def _guarded(main: Coroutine[Any, Any, T], handled: bool) -> T:
    """Await `main` as the task a signal cancels."""
    if not handled:
        return await main
    loop = asyncio.get_running_loop()
    with _wakeup(loop):
        _state.loop, _state.task = loop, asyncio.current_task()
        try:
            if _state.received is not None:  # came while the loop started: do not start at all
                main.close()
                raise asyncio.CancelledError
            return await main
        finally:
            _state.loop = _state.task = None


@contextlib.contextmanager
def _wakeup(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Wake `loop` when a signal arrives, whichever thread the kernel gave it to."""
    reader, writer = socket.socketpair()
    for sock in (reader, writer):
        sock.setblocking(False)

    def drain() -> None:
        with contextlib.suppress(OSError):
            while reader.recv(4096):
                pass

    loop.add_reader(reader.fileno(), drain)
    before = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(before)
        loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()


@contextlib.contextmanager
def _deferring() -> Iterator[None]:
    _state.deferred += 1
    try:
        yield
    finally:
        _state.deferred -= 1

"""Run a blocking inference call off the event loop, in a daemon thread.

`asyncio.to_thread` uses the default executor, whose threads the interpreter joins at exit: an
inference call still running when a run is interrupted would then hold the process open until
it finished. A daemon thread lets the process exit at once; the backend's `close` shuts the
engine down, which ends the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(function: Callable[[], T], name: str = "inference") -> T:
    """Await ``function()`` run in a fresh daemon thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = function()
        except BaseException as err:  # handed to the awaiting task
            outcome: tuple[T | None, BaseException | None] = (None, err)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future

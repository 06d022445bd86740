"""A run's recorded history: its answers by request identity, and the events already on disk.

Replay, resume and fork are one operation: re-execute the scenario, answering every request that
the history holds from the record (after checking the prompt is the one recorded), then stop
(replay) or continue live (resume, fork).
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from societas.simulator._errors import ReplayDivergence
from societas.simulator._requests import Request, RequestKey
from societas.simulator._rows import (
    CallRow,
    EventRow,
    LogSink,
    call_key,
    event_content,
    event_key,
)

KeyTuple = tuple[int, str, int, int, int]


def describe_key(key: RequestKey, question: str) -> str:
    """A request's identity in words, for error messages."""
    return (f"simulation {key.sim}, agent {key.agent!r}, step {key.step}, question #{key.k} "
            f"({question!r}), attempt {key.attempt}")


@dataclass
class History:
    """Recorded answers of a run.

    Args:
        calls: recorded call rows by (sim, agent, step, k, attempt).
        events: recorded event rows by (sim, seq) (used by resume to skip and verify).
        before_step: use only answers recorded before this step (a fork point); None for all.
        strict: every request must be in the record (replay); otherwise unrecorded requests go
            to the live backends (resume, fork).
        verify_prompts: check that each replayed model prompt hashes as the recorded one.
    """

    calls: dict[KeyTuple, CallRow]
    events: dict[tuple[int, int], EventRow] = field(default_factory=dict)
    before_step: int | None = None
    strict: bool = False
    verify_prompts: bool = True

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str], *, with_events: bool = True,
             **options: Any) -> History:
        """Read a run directory's calls (and, for resume, its events)."""
        from societas.simulator._log import read_rows

        calls = {call_key(row): row for row in read_rows(run_dir, CallRow)}
        if not with_events:
            return cls(calls=calls, **options)
        events = {event_key(row): row for row in read_rows(run_dir, EventRow)}
        return cls(calls=calls, events=events, **options)

    def lookup(self, key: RequestKey) -> CallRow | None:
        """The recorded answer to `key`, if it may be used."""
        if self.before_step is not None and key.step >= self.before_step:
            return None
        return self.calls.get((key.sim, key.agent, key.step, key.k, key.attempt))

    def check(self, request: Request, recorded: CallRow) -> str | None:
        """Why `request` does not match its record (None when it does)."""
        asked = request.question.name
        if asked != recorded.question:
            return (f"{describe_key(request.key, asked)} asks {asked!r} where the recorded run "
                    f"asked {recorded.question!r}")
        if not self.verify_prompts:
            return None
        now = request.prompt_hash()
        if now is not None and recorded.prompt_hash is not None and now != recorded.prompt_hash:
            return (f"the prompt of {describe_key(request.key, asked)} differs from the recorded "
                    f"one:\n{prompt_diff(recorded.messages, request.messages)}")
        return None


def prompt_diff(recorded: str | None, now: list[dict[str, str]], limit: int = 40) -> str:
    """A unified diff of two conversations, cut to `limit` lines."""
    def lines(messages: list[dict[str, str]]) -> list[str]:
        out = []
        for message in messages:
            out.append(f"[{message['role']}]")
            out.extend(message["content"].splitlines())
        return out

    before = lines(json.loads(recorded)) if recorded else []
    diff = list(difflib.unified_diff(before, lines(now), "recorded", "now", lineterm="", n=1))
    if len(diff) > limit:
        diff = diff[:limit] + [f"... ({len(diff) - limit} more diff lines)"]
    return "\n".join(diff)


class ResumeSink:
    """Writes only rows not already on disk; re-executed events must equal the stored ones."""

    def __init__(self, log: LogSink, history: History) -> None:
        self._log = log
        self._events = history.events
        self._calls = history.calls

    def event(self, row: EventRow) -> None:
        """Verify an event already on disk, or append a new one."""
        stored = self._events.get(event_key(row))
        if stored is None:
            self._log.event(row)
        elif event_content(stored) != event_content(row):
            raise ReplayDivergence(
                f"resume diverged: event #{row.seq} of simulation {row.sim} (step {row.step}) "
                f"was recorded as {stored.kind!r} {stored.data} but re-executing gives "
                f"{row.kind!r} {row.data}")

    def call(self, row: CallRow) -> None:
        """Append a call row unless it is already on disk."""
        if call_key(row) not in self._calls:
            self._log.call(row)

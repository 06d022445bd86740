"""The fallback budget: a run whose model answers are mostly fallbacks is not data.

Only model-policy answers count. A scripted strategy is code: it answers correctly or the run
fails, and an intervention is imposed, never asked. Transport failures (a backend `Response`
with ``error`` set, e.g. HTTP 500 after the backend's own retries) are counted and tallied by
kind, but a transport failure that a later attempt recovers costs time, not data; the budget is
on fallbacks, the answers the scenario had to invent.

The rule, for the whole run and for each simulation alike: with ``n`` model answers of which
``f`` were fallbacks, the budget is exceeded when ``f > max_share * max(n, FLOOR)``. The floor
lets a small group of answers hold one fallback (a 3-question simulation is not failed by one
unlucky answer under the default) while a dead server fails even a tiny run. With
``max_share=0`` (strict mode) a single fallback fails the run.

Failing fast: in strict mode the first fallback ends the run (the budget can no longer be met).
Otherwise the run ends early once at least ``EARLY_ANSWERS`` model answers are in and more than
halfway from ``max_share`` to 100 % of them were fallbacks: a dead or rate-limiting server
trips this within the first batches, a healthy run never comes near it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from societas.simulator._errors import FallbackBudgetExceeded

FLOOR = 20
"""Answers a group is counted as having at least, when its share is judged."""

EARLY_ANSWERS = 50
"""Model answers needed before a non-strict run may be stopped early."""

_HTTP = re.compile(r"HTTP (\d{3})")
_NOISE = re.compile(r"0x[0-9a-fA-F]+|\d{4,}")


def error_kind(message: str) -> str:
    """A backend error message reduced to its kind, so that variants group together.

    ``HTTP 500: <body>`` becomes ``HTTP 500``; otherwise the first line, without a quoted body
    after the first ``: `` and with long numbers and addresses masked, cut to 120 characters.
    """
    http = _HTTP.search(message)
    if http:
        return f"HTTP {http.group(1)}"
    line = message.strip().splitlines()[0] if message.strip() else "(empty error)"
    head, sep, tail = line.partition(": ")
    if sep and tail[:1] in "{[<\"'":
        line = head
    return _NOISE.sub("N", line)[:120]


@dataclass
class Tally:
    """Model answers and fallbacks of one group (the run, or one simulation)."""

    answers: int = 0
    fallbacks: int = 0

    def over(self, max_share: float) -> bool:
        """Whether this group exceeds the budget (see the module's rule)."""
        return self.fallbacks > max_share * max(self.answers, FLOOR)


@dataclass
class FallbackBudget:
    """Tracks model answers per simulation and stops a run that exceeds `max_share`.

    The engine calls `record` for every model answer, `finish_sim` when a simulation ends and
    `check` when the run ends; each raises `FallbackBudgetExceeded` with a one-line reason.
    `describe_errors` gives the most frequent backend error for that reason.
    """

    max_share: float
    errors: dict[str, int] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)
    _sims: dict[int, Tally] = field(default_factory=dict)

    def record(self, sim: int, fallback: bool) -> None:
        """Count one model answer of simulation `sim`; stop early when the run cannot pass."""
        tally = self._sims.setdefault(sim, Tally())
        for group in (tally, self.total):
            group.answers += 1
            group.fallbacks += fallback
        if not fallback:
            return
        total = self.total
        if self.max_share == 0:
            raise FallbackBudgetExceeded(self.reason(total, "", early=True))
        if total.answers >= EARLY_ANSWERS and (
                total.fallbacks > total.answers * (1 + self.max_share) / 2):
            raise FallbackBudgetExceeded(self.reason(total, "", early=True))

    def finish_sim(self, sim: int) -> None:
        """Judge simulation `sim`, which has asked its last question."""
        tally = self._sims.pop(sim, None)
        if tally is not None and tally.over(self.max_share):
            if self.total.over(self.max_share):  # the run as a whole is the better headline
                raise FallbackBudgetExceeded(self.reason(self.total, ""))
            raise FallbackBudgetExceeded(self.reason(tally, f"simulation {sim}: "))

    def check(self) -> None:
        """Judge the whole run."""
        if self.total.over(self.max_share):
            raise FallbackBudgetExceeded(self.reason(self.total, ""))

    def reason(self, tally: Tally, where: str, *, early: bool = False) -> str:
        """One line: the share, the threshold, and the most frequent backend error."""
        share = tally.fallbacks / max(tally.answers, 1)
        stopped = " (run stopped early)" if early else ""
        return (f"{where}{tally.fallbacks} of {tally.answers} model answers ({share:.0%}) were "
                f"fallbacks, over max_fallback_share={self.max_share:g}{stopped}; "
                f"{self.describe_errors()}")

    def describe_errors(self) -> str:
        """The most frequent backend error, else the question answered invalidly most often."""
        if self.errors:
            kind, count = max(self.errors.items(), key=lambda item: item[1])
            times = "once" if count == 1 else f"{count} times"
            return f"most frequent backend error ({times}): {kind}"
        if self.invalid:
            name, count = max(self.invalid.items(), key=lambda item: item[1])
            times = "once" if count == 1 else f"{count} times"
            return (f"no backend errors; the answers did not parse (most often question "
                    f"{name!r}, {times})")
        return "no backend errors"

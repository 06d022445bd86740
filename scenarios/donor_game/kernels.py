"""Pure rule kernels of the donor game: pairing, payoffs, traces, selection. No `sim`, no model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Schedule = Literal["alternating", "notebook"]
Action = Literal["donate", "punish"]


@dataclass(frozen=True)
class TraceEntry:
    """One link of a reputation trace: in `round`, `donor` gave `fraction` of its resources."""

    round: int
    donor: str
    recipient: str
    action: Action
    fraction: float


Trace = tuple[TraceEntry, ...]


def donor_side_is_a(round_index: int, half: int, schedule: Schedule) -> bool:
    """Whether half A donates in round `round_index` (0-based).

    ``alternating`` (the paper's text): A, B, A, B, … strictly.
    ``notebook`` (the released code): `half` rounds alternating from A, then the same pairings with
    roles swapped, and so on; with 12 agents the donor side reads A,B,A,B,A,B,B,A,B,A,B,A.
    """
    if schedule == "alternating":
        return round_index % 2 == 0
    offset, swapped = round_index % half, (round_index // half) % 2 == 1
    return (offset % 2 == 0) != swapped


def pairings(group_a: Sequence[str], group_b: Sequence[str], round_index: int,
             schedule: Schedule) -> list[tuple[str, str]]:
    """(donor, recipient) pairs of one round: A_k meets B_(k - round) in a bipartite round robin."""
    half = len(group_a)
    if half == 0 or len(group_b) != half:
        raise ValueError(f"the two halves must be equal and non-empty, got {half} and "
                         f"{len(group_b)}")
    offset = round_index % half
    a_donates = donor_side_is_a(round_index, half, schedule)
    pairs = []
    for k, a in enumerate(group_a):
        b = group_b[(k - offset) % half]
        pairs.append((a, b) if a_donates else (b, a))
    return pairs


def apply_move(donor: float, recipient: float, action: Action, amount: float, *,
               multiplier: float, punishment_loss: float) -> tuple[float, float]:
    """Resources of (donor, recipient) after the move.

    A donation costs the donor `amount` and gives the recipient ``multiplier * amount``; a
    punishment costs the donor `amount` and removes ``punishment_loss * amount`` from the
    recipient, floored at zero.
    """
    if not 0 <= amount <= donor:
        raise ValueError(f"amount {amount} is outside [0, {donor}]")
    if action == "donate":
        return donor - amount, recipient + multiplier * amount
    return donor - amount, max(0.0, recipient - punishment_loss * amount)


def extend_trace(recipient_trace: Trace, entry: TraceEntry, depth: int) -> Trace:
    """The donor's new trace: its own action, then the recipient's trace, `depth` links at most."""
    return ((entry,) + recipient_trace)[:depth]


def describe_trace(recipient: str, trace: Trace) -> str:
    """The trace as the donor reads it, most recent first."""
    if not trace:
        return f"{recipient} did not have any previous interactions."
    lines = []
    for e in trace:
        verb = "donated" if e.action == "donate" else "punished"
        lines.append(f"In round {e.round}, {e.donor} {verb} {e.fraction:.0%} of their resources "
                     f"{'to' if e.action == 'donate' else 'against'} {e.recipient}.")
    return " ".join(lines)


def survivors(resources: Mapping[str, float], fraction: float) -> list[str]:
    """The top `fraction` of agents by resources, best first; ties keep population order."""
    keep = survivor_count(len(resources), fraction)
    order = sorted(resources, key=lambda a: -resources[a])  # sorted() is stable
    return order[:keep]


def survivor_count(size: int, fraction: float) -> int:
    """How many agents survive selection (at least one, never all)."""
    return min(size - 1, max(1, round(size * fraction)))

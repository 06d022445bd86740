"""Prefix-affinity routing over inference replicas: pure logic, no Ray.

Requests of one game (or one agent) share their prompt prefix: the rules, then the persona. A
replica that served a game before has that prefix in its cache, so every request of the game
goes to the same *home* replica, chosen by rendezvous hashing of a stable key: the same key
always picks the same replica, and when a replica is down only its keys move. When the home
replica is more than `spill_after` requests behind the least loaded live replica, the requests
go to that one instead (load balancing beats cache affinity when a replica falls behind).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from societas.simulator._requests import RequestKey

Affinity = Literal["game", "agent"]


def affinity_key(salt: str, key: RequestKey, affinity: Affinity) -> str:
    """The routing key of a request: its game (or its agent within the game) under `salt`.

    `salt` tells apart the simulations of different runs sharing the replicas (simulation 0 of
    every run would otherwise land on one replica).
    """
    if affinity == "agent":
        return f"{salt}/{key.sim}/{key.agent}"
    return f"{salt}/{key.sim}"


def home(key: str, live: Sequence[int]) -> int:
    """The replica (among `live`) with the highest rendezvous score for `key`."""
    if not live:
        raise ValueError("no live replica to route to")
    return max(live, key=lambda replica: (_score(key, replica), -replica))


def choose(key: str, live: Sequence[int], load: Sequence[int], spill_after: int) -> int:
    """The replica for `key`: its home, unless the home is overloaded.

    Overloaded means more than `spill_after` requests behind the least loaded live replica;
    the requests then go to that replica (the lowest index on ties).
    """
    preferred = home(key, live)
    lightest = min(live, key=lambda replica: (load[replica], replica))
    if load[preferred] - load[lightest] > spill_after:
        return lightest
    return preferred


def _score(key: str, replica: int) -> int:
    digest = hashlib.blake2b(f"{key}|{replica}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")

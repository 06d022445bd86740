"""Seed derivation: every random stream is a pure function of the run seed and a name."""

from __future__ import annotations

import hashlib
import struct

import numpy as np

_MASK63 = (1 << 63) - 1


def derive_seed(run_seed: int, *parts: int | str) -> int:
    """A 63-bit seed from the run seed and a path of names, stable across processes."""
    digest = hashlib.blake2b(repr((int(run_seed), *parts)).encode(), digest_size=8).digest()
    return struct.unpack("<Q", digest)[0] & _MASK63


def derive_rng(run_seed: int, *parts: int | str) -> np.random.Generator:
    """A numpy Generator seeded by `derive_seed`."""
    return np.random.Generator(np.random.PCG64(derive_seed(run_seed, *parts)))

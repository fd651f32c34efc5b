"""Trace and span ids from a private generator, immune to ``random.seed()`` and to ``fork()``."""

from __future__ import annotations

import os
import random

_rng = random.Random()  # seeded from os.urandom, independent of the global random module


def _reseed_after_fork() -> None:
    _rng.seed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)

getrandbits = _rng.getrandbits  # randbytes() is a Python wrapper around this C method
sample = _rng.random

# An all-zero id is invalid in OpenTelemetry; at 2**-64 per span it is not worth a branch per call.


def new_root_ids() -> tuple[str, str]:
    """Return a new trace id and its root span id, from one call to the generator."""
    digits = getrandbits(192).to_bytes(24, "little").hex()
    return "tr-" + digits[:32], digits[32:]


def new_span_id() -> str:
    """Return a span id: 16 hex digits (a 64-bit OpenTelemetry span id)."""
    return getrandbits(64).to_bytes(8, "little").hex()

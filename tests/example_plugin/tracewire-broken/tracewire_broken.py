"""A tracewire plugin that fails at import, so tracewire's tests can check that it is skipped."""

from __future__ import annotations

raise RuntimeError("tracewire-broken is broken on purpose")

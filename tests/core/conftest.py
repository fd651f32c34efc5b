"""Fixtures for the store tests: the same behaviour is checked on the memory and the SQLite store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tracewire
from tracewire._destinations import MemoryDestination, TraceDestination
from tracewire._export import set_destination
from tracewire._sqlite_store import SqliteDestination


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TraceDestination]:
    """Make a fresh memory store, or an SQLite store under ``tmp_path``, the destination."""
    destination: TraceDestination
    if request.param == "memory":
        destination = MemoryDestination()
    else:
        destination = SqliteDestination(tmp_path / "traces.db")
    set_destination(destination)
    yield destination
    set_destination(MemoryDestination())  # closes the SQLite connections


def record(
    name: str = "t",
    *,
    start_ms: int = 1_000,
    duration_ms: int = 10,
    tags: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    error: bool = False,
    experiment_id: str | None = None,
) -> str:
    """Record one single-span trace with exactly these properties; return its id."""
    span = tracewire.start_span_no_context(
        name,
        start_time_ns=start_ms * 1_000_000,
        tags=tags,
        metadata=metadata,
        experiment_id=experiment_id,
    )
    if error:
        span.set_status("ERROR")
    span.end(end_time_ns=(start_ms + duration_ms) * 1_000_000)
    return span.trace_id


@pytest.fixture
def recorder() -> Callable[..., str]:
    """The :func:`record` helper, for test modules (tests are not importable as a package)."""
    return record

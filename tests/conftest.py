"""Shared fixtures: strict internal errors, and a fresh tracer state for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Our own bugs must fail tests instead of being logged (see tracewire._errors).
os.environ["TRACEWIRE_STRICT"] = "1"

import tracewire
from tracewire import _trace_manager
from tracewire._config import SETTINGS
from tracewire._destinations import MemoryDestination
from tracewire._export import EXPORTER, set_destination


@pytest.fixture(autouse=True)
def fresh_tracer() -> Iterator[MemoryDestination]:
    """Give each test an empty in-memory destination and default settings; check nothing leaks."""
    destination = MemoryDestination()
    set_destination(destination)
    _trace_manager.clear_in_progress()
    SETTINGS.enabled = True
    SETTINGS.span_processors = ()
    SETTINGS.reload_environment()
    EXPORTER.dropped = 0
    yield destination
    tracewire.flush()
    assert tracewire.get_current_active_span() is None, "a test left a span active"
    _trace_manager.clear_in_progress()


@pytest.fixture
def last_trace() -> object:
    """Return a function that flushes and returns the most recently finished trace."""

    def read() -> tracewire.Trace:
        trace_id = tracewire.get_last_active_trace_id()
        assert trace_id is not None, "no trace was finished"
        trace = tracewire.get_trace(trace_id)
        assert trace is not None
        return trace

    return read

"""Span processors, sampling, enable/disable and the bound on traces in progress."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import tracewire
from tracewire import _trace_manager
from tracewire._config import SETTINGS
from tracewire.entities import LiveSpan, NoOpSpan, SpanStatusCode, TraceState

LastTrace = Callable[[], tracewire.Trace]


def _redact(span: LiveSpan) -> None:
    if span.inputs and "password" in span.inputs:
        span.set_inputs({**span.inputs, "password": "***"})


def test_span_processor_redacts_before_export(last_trace: LastTrace) -> None:
    """A processor runs at span end and its changes are what gets exported."""
    tracewire.tracing.configure(span_processors=[_redact])

    @tracewire.trace
    def login(user: str, password: str) -> bool:
        return True

    login("ann", "hunter2")
    assert last_trace().data.spans[0].inputs == {"user": "ann", "password": "***"}


def test_configure_as_context_manager_restores_processors(last_trace: LastTrace) -> None:
    """Used in ``with``, ``configure`` applies only inside the block."""
    with tracewire.tracing.configure(span_processors=[lambda span: span.set_attribute("p", 1)]):
        with tracewire.start_span("inside"):
            pass
        assert last_trace().data.spans[0].get_attribute("p") == 1
    with tracewire.start_span("outside"):
        pass
    assert last_trace().data.spans[0].get_attribute("p") is None


def test_raising_processor_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """A processor that raises does not stop the span or the processors after it."""

    def broken(span: LiveSpan) -> None:
        raise RuntimeError("processor bug")

    tracewire.tracing.configure(span_processors=[broken, lambda s: s.set_attribute("after", 1)])
    with caplog.at_level(logging.WARNING, logger="tracewire"), tracewire.start_span("s"):
        pass
    assert last_trace().data.spans[0].get_attribute("after") == 1
    assert "broken raised" in caplog.text


@pytest.mark.parametrize("processor", [42, lambda: None, lambda a, b: None])
def test_processor_must_take_one_argument(processor: object) -> None:
    """Processors that are not one-argument callables are rejected up front."""
    with pytest.raises(TypeError):
        tracewire.tracing.configure(span_processors=[processor])  # type: ignore[list-item]


def test_sampling_ratio_zero_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """``TRACEWIRE_TRACE_SAMPLING_RATIO=0`` drops every trace, children included."""
    monkeypatch.setenv("TRACEWIRE_TRACE_SAMPLING_RATIO", "0")
    SETTINGS.reload_environment()
    with tracewire.start_span("root") as root, tracewire.start_span("child") as child:
        assert isinstance(root, NoOpSpan)
        assert isinstance(child, NoOpSpan)
    assert tracewire.get_last_active_trace_id() is None


def test_sampling_is_decided_once_per_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 50% each trace is kept or dropped whole: kept traces always have all their spans."""
    monkeypatch.setenv("TRACEWIRE_TRACE_SAMPLING_RATIO", "0.5")
    SETTINGS.reload_environment()
    for _ in range(200):
        with tracewire.start_span("root"), tracewire.start_span("child"):
            pass
    traces = tracewire.search_traces(return_type="list")
    assert 40 < len(traces) < 160
    assert all(len(t.data.spans) == 2 for t in traces)


def test_invalid_sampling_ratio_warns_and_keeps_everything(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A ratio outside [0, 1] is ignored with a warning."""
    monkeypatch.setenv("TRACEWIRE_TRACE_SAMPLING_RATIO", "7")
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        SETTINGS.reload_environment()
    assert SETTINGS.sampling_ratio == 1.0
    assert "TRACEWIRE_TRACE_SAMPLING_RATIO" in caplog.text


def test_disable_and_enable_switch_recording() -> None:
    """``tracing.disable()`` makes spans no-ops until ``enable()``."""
    tracewire.tracing.disable()
    assert not tracewire.tracing.is_enabled()
    with tracewire.start_span("off") as span:
        assert isinstance(span, NoOpSpan)
    tracewire.tracing.enable()
    with tracewire.start_span("on") as span:
        assert isinstance(span, LiveSpan)


def test_stale_trace_is_evicted_and_exported_as_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A trace whose root never ends is evicted after the timeout, keeping what it recorded."""
    monkeypatch.setenv("TRACEWIRE_TRACE_TIMEOUT_SECONDS", "0")
    SETTINGS.reload_environment()
    stuck = tracewire.start_span_no_context("stuck")
    done_child = tracewire.start_span_no_context("done", parent_span=stuck)
    done_child.end()
    with caplog.at_level(logging.WARNING, logger="tracewire"), tracewire.start_span("next"):
        pass
    evicted = tracewire.get_trace(stuck.trace_id)
    assert evicted is not None
    assert evicted.info.state == TraceState.ERROR
    spans = {s.name: s for s in evicted.data.spans}
    assert spans["done"].status.status_code == SpanStatusCode.OK
    assert spans["stuck"].status.status_code == SpanStatusCode.ERROR
    assert "never finished" in caplog.text
    assert _trace_manager.in_progress_count() == 0


def test_in_progress_traces_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the bound, the oldest unfinished traces are evicted."""
    monkeypatch.setenv("TRACEWIRE_MAX_IN_PROGRESS_TRACES", "3")
    SETTINGS.reload_environment()
    open_spans = [tracewire.start_span_no_context(f"open{i}") for i in range(10)]
    assert _trace_manager.in_progress_count() <= 3
    tracewire.flush()
    assert tracewire.get_trace(open_spans[0].trace_id) is not None

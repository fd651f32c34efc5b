"""trace_call, trace_async_call and guard: tracing around a host call never changes the call."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import tracewire
from tracewire import _errors
from tracewire.entities import LiveSpan, NoOpSpan, SpanStatusCode
from tracewire.integration import guard, trace_async_call, trace_call

LastTrace = Callable[[], tracewire.Trace]

ARGS = (1, ["payload"])
KWARGS = {"model": "m", "options": {"temperature": 0}}


class Host:
    """A host function that records every call and returns (or raises) what it was given."""

    def __init__(
        self,
        result: Any = None,
        error: BaseException | None = None,
        body: Callable[[], None] | None = None,
    ) -> None:
        self.result = {"answer": 42} if result is None else result
        self.error = error
        self.body = body
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        if self.body is not None:
            self.body()
        if self.error is not None:
            raise self.error
        return self.result

    async def call_async(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0)
        return self(*args, **kwargs)


def start_span() -> LiveSpan | NoOpSpan:
    return tracewire.start_span_no_context("host_call", inputs={"q": "hi"})


def no_op_span() -> LiveSpan | NoOpSpan:
    with tracewire.tracing.suppress():
        span = tracewire.start_span_no_context("suppressed")
    assert isinstance(span, NoOpSpan)
    return span


def broken_start() -> LiveSpan | NoOpSpan:
    raise RuntimeError("start bug")


def broken_finish(span: LiveSpan, result: Any) -> Any:
    raise RuntimeError("finish bug")


def replacing_finish(span: LiveSpan, result: Any) -> Any:
    span.end(outputs={"wrapped": result})
    return "replacement"


def recorded_traces() -> list[tracewire.Trace]:
    return tracewire.search_traces(return_type="list")


def assert_called_once_with_same_arguments(host: Host) -> None:
    assert len(host.calls) == 1
    args, kwargs = host.calls[0]
    assert args == ARGS
    assert args[1] is ARGS[1]
    assert kwargs == KWARGS
    assert kwargs["options"] is KWARGS["options"]


def internal_error_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "tracewire" and r.levelno == level and "internal error" in r.getMessage()
    ]


@pytest.fixture
def non_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn strict mode off and forget which internal errors were already logged."""
    monkeypatch.delenv("TRACEWIRE_STRICT")
    monkeypatch.setattr(_errors, "_reported", set())


# trace_call: the happy path


def test_trace_call_returns_the_identical_result_and_ends_the_span(last_trace: LastTrace) -> None:
    """The caller gets the very object the host returned; the span records it and ends OK."""
    host = Host()
    result = trace_call(host, ARGS, KWARGS, start=start_span)
    assert result is host.result
    (span,) = last_trace().data.spans
    assert span.name == "host_call"
    assert span.inputs == {"q": "hi"}
    assert span.outputs == {"answer": 42}
    assert span.end_time_ns is not None
    assert span.status.status_code == SpanStatusCode.OK
    assert tracewire.get_current_active_span() is None


def test_trace_call_makes_the_span_active_during_the_call(last_trace: LastTrace) -> None:
    """A span the host starts inside the call becomes a child of the call's span."""
    seen: list[Any] = []

    def body() -> None:
        seen.append(tracewire.get_current_active_span())
        with tracewire.start_span("inner"):
            pass

    trace_call(Host(body=body), ARGS, KWARGS, start=start_span)
    outer, inner = last_trace().data.spans
    assert seen[0].span_id == outer.span_id
    assert inner.name == "inner"
    assert inner.parent_id == outer.span_id
    assert tracewire.get_current_active_span() is None


# trace_call: the host raises


def test_host_exception_propagates_as_the_same_object_with_its_traceback(
    last_trace: LastTrace,
) -> None:
    """The host's exception reaches the caller unchanged, traceback included; the span is ERROR."""
    error = ValueError("bad request")

    def failing_host(*args: Any, **kwargs: Any) -> Any:
        raise error

    with pytest.raises(ValueError) as caught:
        trace_call(failing_host, ARGS, KWARGS, start=start_span)
    assert caught.value is error
    assert traceback.extract_tb(error.__traceback__)[-1].name == "failing_host"
    (span,) = last_trace().data.spans
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.end_time_ns is not None
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "bad request"
    assert tracewire.get_current_active_span() is None


def test_base_exception_from_the_host_propagates_and_the_span_still_ends(
    last_trace: LastTrace,
) -> None:
    """A ``KeyboardInterrupt`` from the host propagates as is, after the span recorded it."""
    interrupt = KeyboardInterrupt()
    host = Host(error=interrupt)
    with pytest.raises(KeyboardInterrupt) as caught:
        trace_call(host, ARGS, KWARGS, start=start_span)
    assert caught.value is interrupt
    (span,) = last_trace().data.spans
    assert span.end_time_ns is not None
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "KeyboardInterrupt"
    assert tracewire.get_current_active_span() is None


# trace_call: start misbehaves or declines


@pytest.mark.usefixtures("non_strict")
def test_start_raising_runs_the_host_untraced_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Outside strict mode a failing ``start`` is logged once; the host still runs and returns."""
    host = Host()
    with caplog.at_level(logging.DEBUG, logger="tracewire"):
        assert trace_call(host, ARGS, KWARGS, start=broken_start) is host.result
        assert trace_call(host, ARGS, KWARGS, start=broken_start) is host.result
    assert len(host.calls) == 2
    (warning,) = internal_error_records(caplog, logging.WARNING)
    assert "starting an integration span" in warning.getMessage()
    assert "start bug" in caplog.text
    assert len(internal_error_records(caplog, logging.DEBUG)) == 1
    assert recorded_traces() == []


def test_start_raising_propagates_under_strict_mode() -> None:
    """With ``TRACEWIRE_STRICT=1`` a failing ``start`` raises instead of being logged."""
    host = Host()
    with pytest.raises(RuntimeError, match="start bug"):
        trace_call(host, ARGS, KWARGS, start=broken_start)
    assert host.calls == []
    assert recorded_traces() == []


def test_start_returning_none_runs_the_host_untraced() -> None:
    """When ``start`` returns ``None`` the host runs with no span and no active-span change."""
    seen: list[Any] = []
    host = Host(body=lambda: seen.append(tracewire.get_current_active_span()))
    assert trace_call(host, ARGS, KWARGS, start=lambda: None) is host.result
    assert seen == [None]
    assert recorded_traces() == []


def test_no_op_span_from_start_records_nothing_not_even_nested_spans() -> None:
    """A no-op span (here from ``suppress()``) is active during the call, so nested spans vanish."""
    span = no_op_span()

    def body() -> None:
        with tracewire.start_span("nested") as nested:
            assert isinstance(nested, NoOpSpan)

    host = Host(body=body)
    assert trace_call(host, ARGS, KWARGS, start=lambda: span) is host.result
    assert len(host.calls) == 1
    assert recorded_traces() == []
    assert tracewire.get_current_active_span() is None


def test_disabled_tracing_records_nothing_not_even_nested_spans() -> None:
    """With tracing disabled, neither the call's span nor the spans nested in it are recorded."""

    def body() -> None:
        with tracewire.start_span("nested") as nested:
            assert isinstance(nested, NoOpSpan)

    host = Host(body=body)
    tracewire.tracing.disable()
    try:
        assert trace_call(host, ARGS, KWARGS, start=start_span) is host.result
    finally:
        tracewire.tracing.enable()
    assert len(host.calls) == 1
    assert recorded_traces() == []


def test_host_exception_under_a_no_op_span_propagates_unchanged() -> None:
    """The host's exception passes through a no-op span untouched and nothing is recorded."""
    error = LookupError("missing")
    with pytest.raises(LookupError) as caught:
        trace_call(Host(error=error), ARGS, KWARGS, start=no_op_span)
    assert caught.value is error
    assert recorded_traces() == []
    assert tracewire.get_current_active_span() is None


# trace_call: finish misbehaves or replaces the result


@pytest.mark.usefixtures("non_strict")
def test_finish_raising_returns_the_original_result_and_ends_the_span(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """Outside strict mode a failing ``finish`` is logged; the caller gets the host's result."""
    host = Host()
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        result = trace_call(host, ARGS, KWARGS, start=start_span, finish=broken_finish)
    assert result is host.result
    (span,) = last_trace().data.spans
    assert span.end_time_ns is not None
    (warning,) = internal_error_records(caplog, logging.WARNING)
    assert "recording a call's result" in warning.getMessage()


def test_finish_raising_in_strict_mode_raises_after_ending_the_span(last_trace: LastTrace) -> None:
    """Under strict mode the error surfaces, and the span is ended rather than left open."""
    with pytest.raises(RuntimeError, match="finish bug"):
        trace_call(Host(), ARGS, KWARGS, start=start_span, finish=broken_finish)
    (span,) = last_trace().data.spans
    assert span.end_time_ns is not None


def test_finish_return_value_is_what_the_caller_receives(last_trace: LastTrace) -> None:
    """Whatever ``finish`` returns replaces the result for the caller."""
    host = Host()
    result = trace_call(host, ARGS, KWARGS, start=start_span, finish=replacing_finish)
    assert result == "replacement"
    (span,) = last_trace().data.spans
    assert span.outputs == {"wrapped": {"answer": 42}}


@pytest.mark.parametrize(
    ("start", "finish", "error"),
    [
        pytest.param(start_span, None, None, id="traced"),
        pytest.param(start_span, None, ValueError("host"), id="host-raises"),
        pytest.param(broken_start, None, None, id="start-raises"),
        pytest.param(lambda: None, None, None, id="start-returns-none"),
        pytest.param(no_op_span, None, None, id="no-op-span"),
        pytest.param(start_span, broken_finish, None, id="finish-raises"),
        pytest.param(start_span, replacing_finish, None, id="finish-replaces"),
    ],
)
@pytest.mark.usefixtures("non_strict")
def test_host_is_called_exactly_once_with_the_same_arguments(
    start: Callable[[], Any],
    finish: Callable[[LiveSpan, Any], Any] | None,
    error: BaseException | None,
) -> None:
    """On every path the host is called once, with the very argument objects it was given."""
    host = Host(error=error)
    if error is None:
        trace_call(host, ARGS, KWARGS, start=start, finish=finish)
    else:
        with pytest.raises(type(error)):
            trace_call(host, ARGS, KWARGS, start=start, finish=finish)
    assert_called_once_with_same_arguments(host)


# trace_async_call


@pytest.mark.asyncio
async def test_async_call_returns_the_identical_result_and_nests_spans(
    last_trace: LastTrace,
) -> None:
    """The awaited result comes back unchanged and spans started inside nest under the call."""

    def body() -> None:
        with tracewire.start_span("inner"):
            pass

    host = Host(body=body)
    result = await trace_async_call(host.call_async, ARGS, KWARGS, start=start_span)
    assert result is host.result
    assert_called_once_with_same_arguments(host)
    outer, inner = last_trace().data.spans
    assert outer.outputs == {"answer": 42}
    assert outer.status.status_code == SpanStatusCode.OK
    assert inner.parent_id == outer.span_id
    assert tracewire.get_current_active_span() is None


@pytest.mark.asyncio
async def test_async_host_exception_propagates_as_the_same_object(last_trace: LastTrace) -> None:
    """The coroutine's exception reaches the caller unchanged; the span is ERROR."""
    error = ValueError("bad request")
    host = Host(error=error)
    with pytest.raises(ValueError) as caught:
        await trace_async_call(host.call_async, ARGS, KWARGS, start=start_span)
    assert caught.value is error
    assert traceback.extract_tb(error.__traceback__)[-1].name == "__call__"
    assert_called_once_with_same_arguments(host)
    (span,) = last_trace().data.spans
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].name == "exception"
    assert tracewire.get_current_active_span() is None


@pytest.mark.asyncio
@pytest.mark.usefixtures("non_strict")
async def test_async_start_raising_runs_the_host_untraced_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Outside strict mode a failing ``start`` is logged; the coroutine still runs and returns."""
    host = Host()
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        result = await trace_async_call(host.call_async, ARGS, KWARGS, start=broken_start)
    assert result is host.result
    assert_called_once_with_same_arguments(host)
    assert len(internal_error_records(caplog, logging.WARNING)) == 1
    assert recorded_traces() == []


@pytest.mark.asyncio
async def test_async_start_raising_propagates_under_strict_mode() -> None:
    """With ``TRACEWIRE_STRICT=1`` a failing ``start`` raises from the awaited call."""
    host = Host()
    with pytest.raises(RuntimeError, match="start bug"):
        await trace_async_call(host.call_async, ARGS, KWARGS, start=broken_start)
    assert host.calls == []


@pytest.mark.asyncio
async def test_async_no_op_span_records_nothing_not_even_nested_spans() -> None:
    """A no-op span from ``start`` keeps the coroutine and everything inside it unrecorded."""

    def body() -> None:
        with tracewire.start_span("nested") as nested:
            assert isinstance(nested, NoOpSpan)

    host = Host(body=body)
    result = await trace_async_call(host.call_async, ARGS, KWARGS, start=no_op_span)
    assert result is host.result
    assert_called_once_with_same_arguments(host)
    assert recorded_traces() == []


@pytest.mark.asyncio
@pytest.mark.usefixtures("non_strict")
async def test_async_finish_raising_returns_the_original_result(last_trace: LastTrace) -> None:
    """Outside strict mode a failing ``finish`` leaves the awaited result intact; the span ends."""
    host = Host()
    result = await trace_async_call(
        host.call_async, ARGS, KWARGS, start=start_span, finish=broken_finish
    )
    assert result is host.result
    assert last_trace().data.spans[0].end_time_ns is not None


@pytest.mark.asyncio
async def test_async_finish_return_value_is_what_the_caller_receives() -> None:
    """Whatever ``finish`` returns replaces the awaited result for the caller."""
    host = Host()
    result = await trace_async_call(
        host.call_async, ARGS, KWARGS, start=start_span, finish=replacing_finish
    )
    assert result == "replacement"
    assert_called_once_with_same_arguments(host)


@pytest.mark.asyncio
async def test_async_cancellation_propagates_and_the_span_ends(last_trace: LastTrace) -> None:
    """Cancelling the awaiting task raises ``CancelledError`` to it; the span ends with the error."""
    started = asyncio.Event()
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    async def hanging_host(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        started.set()
        await asyncio.Event().wait()

    task = asyncio.ensure_future(trace_async_call(hanging_host, ARGS, KWARGS, start=start_span))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) == 1
    (span,) = last_trace().data.spans
    assert span.end_time_ns is not None
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "CancelledError"
    assert tracewire.get_current_active_span() is None


# guard


@pytest.mark.usefixtures("non_strict")
def test_guard_swallows_and_logs_an_exception_once_per_where(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Outside strict mode the error is swallowed; each ``where`` warns once, then logs at debug."""
    reached: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="tracewire"):
        for where in ("recording inputs", "recording inputs", "recording outputs"):
            with guard(where):
                raise RuntimeError(f"bug while {where}")
            reached.append(where)
    assert reached == ["recording inputs", "recording inputs", "recording outputs"]
    warnings = [r.getMessage() for r in internal_error_records(caplog, logging.WARNING)]
    assert len(warnings) == 2
    assert "recording inputs" in warnings[0]
    assert "recording outputs" in warnings[1]
    (debug,) = internal_error_records(caplog, logging.DEBUG)
    assert "recording inputs" in debug.getMessage()
    assert "bug while recording inputs" in caplog.text


def test_guard_reraises_under_strict_mode() -> None:
    """With ``TRACEWIRE_STRICT=1`` the exception leaves the ``guard`` block unchanged."""
    error = RuntimeError("bug")
    with pytest.raises(RuntimeError) as caught, guard("recording inputs"):
        raise error
    assert caught.value is error


@pytest.mark.usefixtures("non_strict")
def test_guard_never_swallows_a_base_exception(caplog: pytest.LogCaptureFixture) -> None:
    """A ``KeyboardInterrupt`` passes through ``guard`` even outside strict mode, unlogged."""
    interrupt = KeyboardInterrupt()
    with (
        caplog.at_level(logging.DEBUG, logger="tracewire"),
        pytest.raises(KeyboardInterrupt) as caught,
        guard("recording inputs"),
    ):
        raise interrupt
    assert caught.value is interrupt
    assert internal_error_records(caplog, logging.WARNING) == []


@pytest.mark.usefixtures("non_strict")
def test_guard_is_a_no_op_without_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    """Without an exception the block runs normally, binds ``None`` and logs nothing."""
    reached: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="tracewire"), guard("recording inputs") as bound:
        reached.append("inside")
    assert bound is None
    assert reached == ["inside"]
    assert caplog.records == []

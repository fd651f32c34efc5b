"""StreamProxy and AsyncStreamProxy: transparent streams whose span ends exactly once."""

from __future__ import annotations

import contextlib
import gc
import logging
import traceback
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import pytest

import tracewire
from tracewire import _errors
from tracewire.entities import LiveSpan, Span, SpanStatusCode
from tracewire.integration import AsyncStreamProxy, StreamEnd, StreamProxy, StreamRecorder

LastTrace = Callable[[], tracewire.Trace]

END = "tracewire.stream.end"
FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"


class ListRecorder(StreamRecorder):
    """Keeps every item it sees and writes them as the span's outputs."""

    def __init__(self, hide: tuple[Any, ...] = ()) -> None:
        self.hide = hide
        self.items: list[Any] = []
        self.ends: list[tuple[str, BaseException | None]] = []

    def on_item(self, item: Any) -> bool:
        self.items.append(item)
        return item not in self.hide

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        self.ends.append((end, error))
        span.set_outputs(list(self.items))


class Stream:
    """A small SDK-like stream: iterable, closable, a context manager, with its own attributes."""

    def __init__(self, items: Iterable[Any], error: BaseException | None = None) -> None:
        self.response_id = "resp-1"
        self.closed = False
        self.exits: list[tuple[Any, ...]] = []
        self._iterator = self._produce(list(items), error)

    @staticmethod
    def _produce(items: list[Any], error: BaseException | None) -> Iterator[Any]:
        yield from items
        if error is not None:
            raise error

    def __iter__(self) -> Iterator[Any]:
        return self._iterator

    def status_code(self) -> int:
        return 200

    def close(self) -> str:
        self.closed = True
        return "closed by the SDK"

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.exits.append(exc_info)


class AsyncStream:
    """A small async SDK-like stream whose ``close`` is a coroutine."""

    def __init__(self, items: Iterable[Any], error: BaseException | None = None) -> None:
        self.response_id = "resp-1"
        self.closed = False
        self.exits: list[tuple[Any, ...]] = []
        self._iterator = self._produce(list(items), error)

    @staticmethod
    async def _produce(items: list[Any], error: BaseException | None) -> AsyncIterator[Any]:
        for item in items:
            yield item
        if error is not None:
            raise error

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterator

    async def close(self) -> str:
        self.closed = True
        await self._iterator.aclose()
        return "closed by the SDK"

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.exits.append(exc_info)


class SyncClosingAsyncStream(AsyncStream):
    """An async stream whose ``close`` is a plain method, as some SDKs have."""

    def close(self) -> str:  # type: ignore[override]
        self.closed = True
        return "closed synchronously"


def numbers(count: int = 3) -> Iterator[int]:
    yield from range(1, count + 1)


async def async_numbers(count: int = 3) -> AsyncIterator[int]:
    for number in range(1, count + 1):
        yield number


def make_proxy(stream: Any, recorder: ListRecorder | None = None) -> tuple[Any, ListRecorder]:
    recorder = ListRecorder() if recorder is None else recorder
    span = tracewire.start_span_no_context("stream")
    assert isinstance(span, LiveSpan)
    return StreamProxy(stream, span, recorder), recorder


def make_async_proxy(stream: Any, recorder: ListRecorder | None = None) -> tuple[Any, ListRecorder]:
    recorder = ListRecorder() if recorder is None else recorder
    span = tracewire.start_span_no_context("stream")
    assert isinstance(span, LiveSpan)
    return AsyncStreamProxy(stream, span, recorder), recorder


class TappedRecorder(ListRecorder):
    """Fed by the stream's source, as the SDK integrations are by the events their SDK reads."""

    wants_items = False

    def on_item(self, item: Any) -> bool:
        raise AssertionError("the proxy must not call on_item of a recorder that wants no items")


def tapped(
    recorder: TappedRecorder, count: int = 3, error: BaseException | None = None
) -> Iterator[int]:
    for number in range(1, count + 1):
        recorder.items.append(number)
        yield number
    if error is not None:
        raise error


def make_tapped_proxy(
    count: int = 3, error: BaseException | None = None
) -> tuple[Any, TappedRecorder]:
    recorder = TappedRecorder()
    proxy, _ = make_proxy(tapped(recorder, count, error), recorder)
    return proxy, recorder


MakeStream = Callable[..., tuple[Any, ListRecorder]]


@pytest.fixture(params=["recorder reads items", "recorder wants no items"])
def make_stream(request: pytest.FixtureRequest) -> MakeStream:
    """Builds a proxied stream of 1..count (then ``error``, if any) with either kind of recorder."""

    def make(count: int = 3, error: BaseException | None = None) -> tuple[Any, ListRecorder]:
        if request.param == "recorder reads items":
            return make_proxy(Stream(range(1, count + 1), error=error))
        return make_tapped_proxy(count, error)

    return make


def drain(stream: Iterable[Any], into: list[Any]) -> None:
    for item in stream:
        into.append(item)


async def async_drain(stream: AsyncIterable[Any], into: list[Any]) -> None:
    async for item in stream:
        into.append(item)


def only_span(last_trace: LastTrace) -> Span:
    (span,) = last_trace().data.spans
    assert span.end_time_ns is not None
    return span


def internal_error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "tracewire"
        and r.levelno == logging.WARNING
        and "internal error" in r.getMessage()
    ]


@pytest.fixture
def non_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn strict mode off and forget which internal errors were already logged."""
    monkeypatch.delenv("TRACEWIRE_STRICT")
    monkeypatch.setattr(_errors, "_reported", set())


# Exhaustion, hidden items, errors


def test_items_pass_through_unchanged_and_the_span_ends_exhausted(last_trace: LastTrace) -> None:
    """Every item reaches the caller as the same object, in order; the span ends "exhausted"."""
    items = [{"delta": "Hel"}, {"delta": "lo"}, {"delta": "!"}]
    proxy, recorder = make_proxy(iter(items))
    received = list(proxy)
    assert received == items
    assert all(got is sent for got, sent in zip(received, items, strict=True))
    assert recorder.ends == [("exhausted", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "exhausted" == StreamEnd.EXHAUSTED
    assert span.outputs == items
    assert span.status.status_code == SpanStatusCode.OK


def test_time_to_first_chunk_is_recorded_when_an_item_arrived(last_trace: LastTrace) -> None:
    """The delay to the first item is a non-negative number of seconds within the span."""
    proxy, _ = make_proxy(numbers())
    assert list(proxy) == [1, 2, 3]
    span = only_span(last_trace)
    delay = span.get_attribute(FIRST_CHUNK)
    assert isinstance(delay, float)
    assert 0 <= delay <= (span.end_time_ns - span.start_time_ns) / 1e9


def test_time_to_first_chunk_is_absent_when_no_item_arrived(last_trace: LastTrace) -> None:
    """An empty stream ends "exhausted" without a time-to-first-chunk attribute."""
    proxy, recorder = make_proxy(numbers(0))
    assert list(proxy) == []
    span = only_span(last_trace)
    assert span.get_attribute(END) == "exhausted"
    assert FIRST_CHUNK not in span.attributes
    assert recorder.items == []


def test_items_reach_the_caller_without_a_recorder_that_wants_none(last_trace: LastTrace) -> None:
    proxy, recorder = make_tapped_proxy()

    assert list(proxy) == [1, 2, 3]
    assert recorder.ends == [("exhausted", None)]
    span = only_span(last_trace)
    assert span.outputs == [1, 2, 3]
    assert span.get_attribute(FIRST_CHUNK) >= 0


def test_recorder_returning_false_hides_the_item_from_the_caller(last_trace: LastTrace) -> None:
    """An item the recorder rejects is seen by the recorder but never reaches the caller."""
    proxy, recorder = make_proxy(iter(["a", "usage", "b", "usage"]), ListRecorder(hide=("usage",)))
    assert list(proxy) == ["a", "b"]
    assert recorder.items == ["a", "usage", "b", "usage"]
    assert only_span(last_trace).outputs == ["a", "usage", "b", "usage"]


def test_stream_error_reaches_the_caller_and_marks_the_span(
    last_trace: LastTrace, make_stream: MakeStream
) -> None:
    """A mid-stream error is re-raised as the same object; the span is ERROR with what arrived."""
    error = ConnectionError("stream reset")
    proxy, recorder = make_stream(2, error)
    received: list[Any] = []
    with pytest.raises(ConnectionError) as caught:
        drain(proxy, received)
    assert caught.value is error
    assert traceback.extract_tb(error.__traceback__)[-1].name in ("_produce", "tapped")
    assert received == [1, 2]
    assert recorder.ends == [("error", error)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "error"
    assert span.outputs == [1, 2]
    assert span.status.status_code == SpanStatusCode.ERROR
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ConnectionError"


# Stopping early


def test_break_then_close_ends_the_span_closed(last_trace: LastTrace) -> None:
    """Closing a half-read stream closes the SDK stream and ends the span "closed"."""
    stream = Stream([1, 2, 3])
    proxy, recorder = make_proxy(stream)
    for item in proxy:
        if item == 2:
            break
    assert recorder.ends == []
    assert proxy.close() == "closed by the SDK"
    assert stream.closed
    assert recorder.ends == [("closed", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "closed"
    assert span.outputs == [1, 2]


def test_close_on_a_generator_closes_it(last_trace: LastTrace) -> None:
    """``close()`` on a proxied generator finalises the generator and ends the span."""
    generator = numbers()
    proxy, _ = make_proxy(generator)
    assert next(proxy) == 1
    proxy.close()
    assert generator.gi_frame is None
    assert only_span(last_trace).get_attribute(END) == "closed"


def test_with_block_exit_ends_the_span_exited(last_trace: LastTrace) -> None:
    """Leaving ``with`` ends the span "exited"; ``as`` binds the proxy when the stream returns itself."""
    stream = Stream([1, 2, 3])
    proxy, recorder = make_proxy(stream)
    with proxy as entered:
        assert entered is proxy
        assert next(entered) == 1
    assert stream.exits == [(None, None, None)]
    assert recorder.ends == [("exited", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "exited"
    assert span.outputs == [1]


def test_with_block_binds_what_the_stream_enter_returns_when_not_itself() -> None:
    """When the stream's ``__enter__`` returns another object, ``as`` binds that object."""

    class Opening(Stream):
        def __enter__(self) -> Any:
            return "handle"

    proxy, recorder = make_proxy(Opening([]))
    with proxy as entered:
        assert entered == "handle"
    assert recorder.ends == [("exited", None)]


def test_unread_stream_garbage_collected_ends_the_span(last_trace: LastTrace) -> None:
    """A stream dropped without reading yields a trace ending "garbage_collected", with no items."""
    proxy, recorder = make_proxy(Stream([1, 2]))
    del proxy
    gc.collect()
    assert recorder.ends == [("garbage_collected", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "garbage_collected"
    assert span.outputs == []
    assert FIRST_CHUNK not in span.attributes


def test_half_read_stream_garbage_collected_keeps_what_arrived(last_trace: LastTrace) -> None:
    """A half-read stream that is dropped records the items that arrived before it was collected."""
    proxy, recorder = make_proxy(numbers(5))
    assert [next(proxy), next(proxy)] == [1, 2]
    del proxy
    gc.collect()
    assert recorder.ends == [("garbage_collected", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "garbage_collected"
    assert span.outputs == [1, 2]
    assert span.get_attribute(FIRST_CHUNK) >= 0


def test_dropped_half_read_stream_ends_without_the_garbage_collector(
    last_trace: LastTrace, make_stream: MakeStream
) -> None:
    """Reference counting alone ends it: the proxy and its iteration hold no cycle."""
    gc.disable()
    try:
        proxy, recorder = make_stream(5)
        for _ in proxy:
            break
        del proxy
        assert recorder.ends == [("garbage_collected", None)]
    finally:
        gc.enable()
    assert only_span(last_trace).outputs == [1]


class SelfIterating:
    """An iterator that is its own iterable and has a close() of its own (no generator)."""

    def __init__(self, recorder: TappedRecorder) -> None:
        self._numbers = iter(range(1, 4))
        self._recorder = recorder
        self.closed = False

    def __iter__(self) -> SelfIterating:
        return self

    def __next__(self) -> int:
        number = next(self._numbers)
        self._recorder.items.append(number)
        return number

    def close(self) -> None:
        self.closed = True


def test_dropped_half_read_stream_is_not_closed_behind_the_callers_back(
    last_trace: LastTrace,
) -> None:
    """As with a plain for loop, tracewire never calls close() on an iterator nobody closed."""
    recorder = TappedRecorder()
    stream = SelfIterating(recorder)
    proxy, _ = make_proxy(stream, recorder)
    assert [next(proxy), next(proxy)] == [1, 2]
    del proxy
    gc.collect()

    assert recorder.ends == [("garbage_collected", None)]
    assert stream.closed is False
    assert next(stream) == 3  # still the caller's to read on


def test_iterator_kept_after_the_stream_is_dropped_still_records_everything(
    last_trace: LastTrace, make_stream: MakeStream
) -> None:
    # `for chunk in client.create(stream=True)` keeps only the iterator.
    proxy, recorder = make_stream(3)
    items = iter(proxy)
    del proxy
    gc.collect()
    assert recorder.ends == []  # still being read

    assert list(items) == [1, 2, 3]
    assert recorder.ends == [("exhausted", None)]
    assert only_span(last_trace).outputs == [1, 2, 3]


def test_iterator_taken_but_never_read_ends_the_span_when_dropped(
    last_trace: LastTrace, make_stream: MakeStream
) -> None:
    proxy, recorder = make_stream(3)
    items = iter(proxy)
    gc.disable()
    try:
        del proxy, items
        assert recorder.ends == [("garbage_collected", None)]
    finally:
        gc.enable()
    assert FIRST_CHUNK not in only_span(last_trace).attributes


def test_loop_broken_off_and_resumed_continues_where_it_stopped(
    last_trace: LastTrace, make_stream: MakeStream
) -> None:
    proxy, recorder = make_stream(4)
    for item in proxy:
        if item == 2:
            break

    assert list(proxy) == [3, 4]
    assert recorder.ends == [("exhausted", None)]
    assert only_span(last_trace).outputs == [1, 2, 3, 4]


def test_span_ends_exactly_once_when_every_trigger_fires(last_trace: LastTrace) -> None:
    """Exhaustion, then close, then ``with`` exit, then garbage collection: ``on_end`` runs once."""
    stream = Stream([1, 2])
    proxy, recorder = make_proxy(stream)
    with proxy:
        assert list(proxy) == [1, 2]
        proxy.close()
    assert stream.closed
    assert stream.exits == [(None, None, None)]
    del proxy
    gc.collect()
    assert recorder.ends == [("exhausted", None)]
    assert len(tracewire.search_traces(return_type="list")) == 1
    assert only_span(last_trace).get_attribute(END) == "exhausted"


# Transparency


def test_attributes_and_methods_pass_through_to_the_stream() -> None:
    """The proxy is an instance of the stream's class and exposes its attributes and methods."""
    stream = Stream([1])
    proxy, _ = make_proxy(stream)
    assert isinstance(proxy, Stream)
    assert proxy.response_id == "resp-1"
    assert proxy.status_code() == 200
    proxy.custom = "set through the proxy"
    assert stream.custom == "set through the proxy"  # type: ignore[attr-defined]
    assert proxy.__wrapped__ is stream
    proxy.close()


def test_sync_proxy_does_not_look_async_iterable() -> None:
    """A sync stream's proxy is an ``Iterable`` and ``Iterator`` but not an ``AsyncIterable``."""
    proxy, _ = make_proxy(numbers())
    assert isinstance(proxy, Iterable)
    assert isinstance(proxy, Iterator)
    assert not isinstance(proxy, AsyncIterable)
    proxy.close()


def test_async_proxy_does_not_look_sync_iterable() -> None:
    """An async stream's proxy is an ``AsyncIterable`` but neither ``Iterable`` nor iterable."""
    proxy, recorder = make_async_proxy(async_numbers())
    assert isinstance(proxy, AsyncIterable)
    assert not isinstance(proxy, Iterable)
    with pytest.raises(TypeError):
        iter(proxy)
    del proxy
    gc.collect()
    assert recorder.ends == [("garbage_collected", None)]


def test_proxies_only_look_like_the_context_manager_they_are() -> None:
    """The sync proxy is no async context manager, and the async proxy no sync one."""
    proxy, _ = make_proxy(Stream([1]))
    assert isinstance(proxy, contextlib.AbstractContextManager)
    assert not isinstance(proxy, contextlib.AbstractAsyncContextManager)
    proxy.close()
    async_proxy, recorder = make_async_proxy(async_numbers())
    assert isinstance(async_proxy, contextlib.AbstractAsyncContextManager)
    assert not isinstance(async_proxy, contextlib.AbstractContextManager)
    del async_proxy
    gc.collect()
    assert recorder.ends == [("garbage_collected", None)]


def test_close_that_raises_still_ends_the_span(last_trace: LastTrace) -> None:
    """If the SDK's close() raises, the caller gets its exception and the span still ends closed."""

    class FailingClose(Stream):
        def close(self) -> str:
            raise OSError("socket already gone")

    proxy, recorder = make_proxy(FailingClose([1, 2]))
    next(proxy)
    with pytest.raises(OSError, match="socket already gone"):
        proxy.close()
    assert recorder.ends == [("closed", None)]
    assert only_span(last_trace).attributes[END] == StreamEnd.CLOSED


# Recorder errors


@pytest.mark.usefixtures("non_strict")
def test_on_item_raising_still_delivers_the_item_and_logs(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """Outside strict mode a failing ``on_item`` is logged once; every item still reaches the caller."""

    class Broken(ListRecorder):
        def on_item(self, item: Any) -> bool:
            raise RuntimeError("on_item bug")

    proxy, _ = make_proxy(numbers(), Broken())
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert list(proxy) == [1, 2, 3]
    (warning,) = internal_error_records(caplog)
    assert "recording a stream item" in warning.getMessage()
    assert "on_item bug" in caplog.text
    assert only_span(last_trace).get_attribute(END) == "exhausted"


@pytest.mark.usefixtures("non_strict")
def test_on_end_raising_still_ends_the_span(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """Outside strict mode a failing ``on_end`` is logged and the span still ends."""

    class Broken(ListRecorder):
        def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
            raise RuntimeError("on_end bug")

    proxy, _ = make_proxy(numbers(), Broken())
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert list(proxy) == [1, 2, 3]
    (warning,) = internal_error_records(caplog)
    assert "recording a stream's result" in warning.getMessage()
    span = only_span(last_trace)
    assert span.get_attribute(END) == "exhausted"
    assert span.status.status_code == SpanStatusCode.OK


def test_on_item_raising_propagates_under_strict_mode(last_trace: LastTrace) -> None:
    """With ``TRACEWIRE_STRICT=1`` a failing ``on_item`` raises out of the iteration."""

    class Broken(ListRecorder):
        def on_item(self, item: Any) -> bool:
            raise RuntimeError("on_item bug")

    proxy, _ = make_proxy(Stream([1, 2]), Broken())
    with pytest.raises(RuntimeError, match="on_item bug"):
        next(proxy)
    proxy.close()
    assert only_span(last_trace).get_attribute(END) == "closed"


# AsyncStreamProxy


@pytest.mark.asyncio
async def test_async_items_pass_through_and_the_span_ends_exhausted(
    last_trace: LastTrace,
) -> None:
    """``async for`` sees every item in order; the span ends "exhausted" with the outputs."""
    proxy, recorder = make_async_proxy(AsyncStream(["a", "b", "c"]))
    received = [item async for item in proxy]
    assert received == ["a", "b", "c"]
    assert recorder.ends == [("exhausted", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "exhausted"
    assert span.outputs == ["a", "b", "c"]
    assert span.get_attribute(FIRST_CHUNK) >= 0


@pytest.mark.asyncio
async def test_async_recorder_returning_false_hides_the_item(last_trace: LastTrace) -> None:
    """An item the recorder rejects is skipped in ``async for`` too."""
    proxy, recorder = make_async_proxy(AsyncStream(["a", "usage", "b"]), ListRecorder(("usage",)))
    assert [item async for item in proxy] == ["a", "b"]
    assert recorder.items == ["a", "usage", "b"]
    assert only_span(last_trace).get_attribute(END) == "exhausted"


@pytest.mark.asyncio
async def test_async_with_exit_ends_the_span_exited(last_trace: LastTrace) -> None:
    """Leaving ``async with`` ends the span "exited"; ``as`` binds the proxy."""
    stream = AsyncStream([1, 2, 3])
    proxy, recorder = make_async_proxy(stream)
    async with proxy as entered:
        assert entered is proxy
        assert await entered.__anext__() == 1
    assert stream.exits == [(None, None, None)]
    assert recorder.ends == [("exited", None)]
    assert only_span(last_trace).outputs == [1]
    await stream.close()


@pytest.mark.asyncio
async def test_async_close_awaits_a_coroutine_close(last_trace: LastTrace) -> None:
    """``await proxy.close()`` awaits the stream's coroutine ``close`` and ends the span "closed"."""
    stream = AsyncStream([1, 2, 3])
    proxy, recorder = make_async_proxy(stream)
    async for item in proxy:
        if item == 2:
            break
    assert await proxy.close() == "closed by the SDK"
    assert stream.closed
    assert recorder.ends == [("closed", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "closed"
    assert span.outputs == [1, 2]


@pytest.mark.asyncio
async def test_async_close_calls_a_sync_close(last_trace: LastTrace) -> None:
    """``await proxy.close()`` also works when the stream's ``close`` is a plain method."""
    stream = SyncClosingAsyncStream([1, 2])
    proxy, recorder = make_async_proxy(stream)
    assert await proxy.close() == "closed synchronously"
    assert stream.closed
    assert recorder.ends == [("closed", None)]
    assert only_span(last_trace).get_attribute(END) == "closed"


@pytest.mark.asyncio
async def test_async_aclose_closes_an_async_generator(last_trace: LastTrace) -> None:
    """``await proxy.aclose()`` finalises a half-read async generator and ends the span "closed"."""
    generator = async_numbers()
    proxy, recorder = make_async_proxy(generator)
    assert await proxy.__anext__() == 1
    await proxy.aclose()
    assert generator.ag_frame is None
    assert recorder.ends == [("closed", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "closed"
    assert span.outputs == [1]


@pytest.mark.asyncio
async def test_async_stream_error_reaches_the_caller_and_marks_the_span(
    last_trace: LastTrace,
) -> None:
    """A mid-stream error is re-raised as the same object; the span is ERROR with what arrived."""
    error = ConnectionError("stream reset")
    proxy, recorder = make_async_proxy(AsyncStream([1, 2], error=error))
    received: list[Any] = []
    with pytest.raises(ConnectionError) as caught:
        await async_drain(proxy, received)
    assert caught.value is error
    assert received == [1, 2]
    assert recorder.ends == [("error", error)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "error"
    assert span.outputs == [1, 2]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "ConnectionError"


@pytest.mark.asyncio
async def test_unread_async_stream_garbage_collected_ends_the_span(
    last_trace: LastTrace,
) -> None:
    """An async stream dropped unread yields a trace ending "garbage_collected"."""
    proxy, recorder = make_async_proxy(async_numbers())
    del proxy
    gc.collect()
    assert recorder.ends == [("garbage_collected", None)]
    span = only_span(last_trace)
    assert span.get_attribute(END) == "garbage_collected"
    assert span.outputs == []


@pytest.mark.asyncio
async def test_async_attributes_pass_through_to_the_stream() -> None:
    """The async proxy is an instance of the stream's class and exposes its attributes."""
    stream = AsyncStream([])
    proxy, _ = make_async_proxy(stream)
    assert isinstance(proxy, AsyncStream)
    assert isinstance(proxy, AsyncIterable)
    assert proxy.response_id == "resp-1"
    await proxy.close()

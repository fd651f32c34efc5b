"""A transparent proxy for SDK streams that ends the stream's span exactly once.

The span ends when the stream is exhausted, raises, is closed, leaves its ``with`` block, or is
garbage-collected unread, whichever comes first. The caller keeps every method and attribute of the
SDK's stream object (``isinstance`` holds), and sees exactly the items the SDK produced, except
those the recorder deliberately hides (such as a usage-only chunk we asked for ourselves).
"""

from __future__ import annotations

import sys
import time
from itertools import islice

import wrapt

from tracewire._errors import report_internal_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Generator, Iterator
    from types import TracebackType
    from typing import Any, Protocol

    from tracewire._span import LiveSpan

    class StreamProgress(Protocol):
        """What is known of a stream being read: its span, its first item, whether it ended."""

        span: LiveSpan
        first_item_ns: int | None
        ended: bool


_time_ns = time.time_ns

#: Span attribute saying how a stream ended; one of the ``StreamEnd`` values.
STREAM_END_ATTRIBUTE = "tracewire.stream.end"
#: Seconds from the call to the first item (OpenTelemetry GenAI semantic conventions' name).
TIME_TO_FIRST_CHUNK_ATTRIBUTE = "gen_ai.response.time_to_first_chunk"


class StreamEnd:
    """How a traced stream ended, recorded as the ``tracewire.stream.end`` span attribute."""

    EXHAUSTED = "exhausted"
    ERROR = "error"
    CLOSED = "closed"
    EXITED = "exited"
    GARBAGE_COLLECTED = "garbage_collected"


class StreamRecorder:
    """Accumulates what a stream produced and writes it to the span; subclass it per SDK.

    Both methods run inside tracewire's error guard: an exception is reported, never raised into
    the caller's loop.

    Attributes:
        wants_items: Whether the proxy calls :meth:`on_item` for each item. A recorder that gets
            the stream's content another way (an SDK integration that keeps the raw events the
            SDK reads) sets it to ``False``, and the proxy then passes every item on untouched.
    """

    wants_items: bool = True

    def on_item(self, item: Any) -> bool:
        """Record one item as it passes through.

        Args:
            item: The chunk or event the SDK produced.

        Returns:
            ``False`` to hide the item from the caller (only for items tracewire itself caused to
            be sent); anything else passes it on.
        """
        return True

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        """Write the accumulated result to ``span`` (outputs, token usage, ...); called once.

        The proxy ends the span afterwards and records ``error``, if any, as an exception event.

        Args:
            span: The stream's span, still open.
            end: How the stream ended, a :class:`StreamEnd` value. Anything but ``"exhausted"``
                or ``"error"`` means the caller stopped early and the result is partial.
            error: The exception the stream raised, for ``"error"``.
        """


class _StreamState:
    """What a stream proxy and its item iterator share.

    It holds no reference to either, so a stream dropped by the caller is freed at once, without
    the cyclic garbage collector.
    """

    __slots__ = ("ended", "first_item_ns", "recorder", "span")

    def __init__(self, span: LiveSpan, recorder: StreamRecorder) -> None:
        self.span = span
        self.recorder = recorder
        self.first_item_ns: int | None = None
        self.ended = False


def _record(state: _StreamState, item: Any) -> bool:
    """Pass one item to the recorder; return whether the caller gets it."""
    if state.first_item_ns is None:
        state.first_item_ns = _time_ns()
    if not state.recorder.wants_items:
        return True
    try:
        return state.recorder.on_item(item) is not False
    except Exception:  # noqa: BLE001 - reported by policy; the item still reaches the caller
        report_internal_error("recording a stream item")
        return True


def end_stream(
    state: StreamProgress, recorder: StreamRecorder, end: str, error: BaseException | None
) -> None:
    """Write the recorder's result and end the span; only the first call has an effect.

    Args:
        state: What is known of the stream so far (its span, first item, whether it ended).
        recorder: The stream's recorder.
        end: How the stream ended, a :class:`StreamEnd` value.
        error: The exception the stream raised, for ``"error"``.
    """
    if state.ended:
        return
    state.ended = True
    span = state.span
    if span._end_time_ns is not None:
        return  # already closed for us, e.g. the trace was evicted as never finished
    try:
        recorder.on_end(span, end, error)
    except Exception:  # noqa: BLE001 - reported by policy; the span is still ended below
        report_internal_error("recording a stream's result")
    try:
        # A string and a float: nothing to validate or copy, as set_attribute would.
        attributes: dict[str, Any] = span._attributes
        attributes[STREAM_END_ATTRIBUTE] = end
        if state.first_item_ns is not None:
            delay_ns = state.first_item_ns - span._start_time_ns
            attributes[TIME_TO_FIRST_CHUNK_ATTRIBUTE] = delay_ns / 1e9
        if error is not None:
            span.record_exception(error)
        span.end()
    except Exception:  # noqa: BLE001 - reported by policy
        report_internal_error("ending a stream's span")


class _Items:
    """Iterates the SDK's stream through the recorder; ends the span when the iteration ends.

    A plain iterator rather than a ``__next__`` method on the proxy: a call through wrapt's proxy
    costs several times more, and this runs once per chunk. Only the SDK's own iteration is inside
    the ``try``: an error of tracewire's (raised in strict mode) is not the stream's.
    """

    __slots__ = ("_iterator", "_on_item", "_state")

    def __init__(self, iterator: Any, state: _StreamState) -> None:
        self._iterator = iterator
        self._state = state
        self._on_item = state.recorder.on_item  # only for a recorder that wants items

    def __iter__(self) -> _Items:
        return self

    def __next__(self) -> Any:
        state = self._state
        while True:
            try:
                item = next(self._iterator)
            except StopIteration:
                end_stream(state, state.recorder, StreamEnd.EXHAUSTED, None)
                raise
            except BaseException as error:
                end_stream(state, state.recorder, StreamEnd.ERROR, error)
                raise
            # What _record does, inline: this runs once per chunk.
            if state.first_item_ns is None:
                state.first_item_ns = _time_ns()
            try:
                if self._on_item(item) is not False:
                    return item
            except Exception:  # noqa: BLE001 - reported by policy; the item still reaches the caller
                report_internal_error("recording a stream item")
                return item

    def __del__(self) -> None:
        # Dropped unfinished, with the proxy or after it: end with what arrived.
        state = self._state
        if not state.ended and not sys.is_finalizing():
            end_stream(state, state.recorder, StreamEnd.GARBAGE_COLLECTED, None)


def _passed_on(iterator: Iterator[Any], state: _StreamState) -> Generator[Any, None, None]:
    """Iterate the SDK's stream for a recorder that wants no items; end the span with the iteration.

    A generator rather than :class:`_Items`: resuming one costs a fraction of a ``__next__``
    call, and this runs once per item. ``StreamProxy`` primes it (runs it to its first
    ``yield``), so that from then on dropping it unfinished runs its ``finally``.
    """
    try:
        yield None  # the priming stop, before any item
        try:
            for item in iterator:
                state.first_item_ns = _time_ns()
                yield item
                break
            # Delegated: the interpreter passes each further item on without running a loop here.
            # Through islice, which has no close(): a dropped proxy leaves the caller's iterator
            # as a for loop would, unclosed (yield from would close it).
            yield from islice(iterator, None)
        except GeneratorExit:
            raise  # dropped or closed by the caller: the finally below
        except BaseException as error:
            end_stream(state, state.recorder, StreamEnd.ERROR, error)
            raise
        end_stream(state, state.recorder, StreamEnd.EXHAUSTED, None)
    finally:
        # Dropped unfinished (read or not), with the proxy or after it: end with what arrived.
        if not state.ended and not sys.is_finalizing():
            end_stream(state, state.recorder, StreamEnd.GARBAGE_COLLECTED, None)


class _StreamProxyBase(wrapt.ObjectProxy):  # type: ignore[type-arg]
    """State and span bookkeeping shared by the sync and async stream proxies."""

    def __init__(self, stream: Any, span: LiveSpan, recorder: StreamRecorder) -> None:
        super().__init__(stream)
        self._self_state = _StreamState(span, recorder)

    def _self_end(self, end: str, error: BaseException | None) -> None:
        state = self._self_state
        end_stream(state, state.recorder, end, error)


class StreamProxy(_StreamProxyBase):
    """Wraps a synchronous SDK stream so its span ends exactly once.

    Iteration, ``close()`` and ``with`` go through the proxy; everything else (attributes, other
    methods, ``isinstance``) is the SDK object's own.

    Args:
        stream: The SDK's stream or iterator.
        span: The span that the proxy now owns and ends.
        recorder: Accumulates the items and writes the result to the span.
    """

    # A sync stream must not look like an async context manager (see AsyncStreamProxy).
    __aenter__ = None  # type: ignore[assignment, unused-ignore]
    __aexit__ = None  # type: ignore[assignment, unused-ignore]

    def __init__(self, stream: Any, span: LiveSpan, recorder: StreamRecorder) -> None:
        # The base's __init__, inline: this runs once per stream, and each frame costs.
        wrapt.ObjectProxy.__init__(self, stream)
        self._self_state = state = _StreamState(span, recorder)
        # The proxy's one iterator, made now: a loop broken off and resumed continues where it
        # stopped, and a stream dropped unread or half read ends its span when this iterator is
        # dropped (perhaps after the proxy, if the caller still holds it), so the proxy needs
        # no finalizer of its own.
        if recorder.wants_items:
            self._self_iterator: Any = _Items(iter(stream), state)
        else:
            self._self_iterator = iterator = _passed_on(iter(stream), state)
            next(iterator)  # primed: see _passed_on

    def __iter__(self) -> Any:
        return self._self_iterator

    def __next__(self) -> Any:
        return next(self._self_iterator)

    def close(self) -> Any:
        """Close the SDK stream, then end the span."""
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end(StreamEnd.CLOSED, None)

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, traceback)
        finally:
            self._self_end(StreamEnd.EXITED, None)


class AsyncStreamProxy(_StreamProxyBase):
    """Wraps an asynchronous SDK stream so its span ends exactly once.

    Args:
        stream: The SDK's async stream or async iterator.
        span: The span that the proxy now owns and ends.
        recorder: Accumulates the items and writes the result to the span.
    """

    # wrapt's ObjectProxy forwards these; an async stream must not look like a sync iterable or a
    # sync context manager to code that checks (collections.abc, contextlib).
    __iter__ = None  # type: ignore[assignment, unused-ignore]
    __enter__ = None  # type: ignore[assignment, unused-ignore]
    __exit__ = None  # type: ignore[assignment, unused-ignore]

    def __init__(self, stream: Any, span: LiveSpan, recorder: StreamRecorder) -> None:
        super().__init__(stream, span, recorder)
        # The SDK's own async iterator, which ends nothing by itself.
        self._self_items: Any = None

    def __del__(self) -> None:
        # A stream dropped unread or half read still yields a trace with what arrived. At
        # interpreter exit the exit flush has already closed its span; nothing is left to do.
        state = getattr(self, "_self_state", None)
        if state is not None and not state.ended and not sys.is_finalizing():
            end_stream(state, state.recorder, StreamEnd.GARBAGE_COLLECTED, None)

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        iterator = self._self_items
        if iterator is None:
            iterator = self._self_items = self.__wrapped__.__aiter__()
        while True:
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                self._self_end(StreamEnd.EXHAUSTED, None)
                raise
            except BaseException as error:
                self._self_end(StreamEnd.ERROR, error)
                raise
            if _record(self._self_state, item):
                return item

    async def close(self) -> Any:
        """Close the SDK stream (its ``close`` is a coroutine in async SDKs), then end the span."""
        try:
            result = self.__wrapped__.close()
            if hasattr(result, "__await__"):
                result = await result
            return result
        finally:
            self._self_end(StreamEnd.CLOSED, None)

    async def aclose(self) -> Any:
        """Close an async generator or stream that uses ``aclose``, then end the span."""
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_end(StreamEnd.CLOSED, None)

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, traceback)
        finally:
            self._self_end(StreamEnd.EXITED, None)

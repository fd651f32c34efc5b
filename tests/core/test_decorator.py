"""@tracewire.trace on every kind of callable."""

from __future__ import annotations

import asyncio
import gc
import inspect
import math
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

import tracewire
from tracewire.entities import SpanStatusCode, SpanType, TraceState
from tracewire.tracing.constant import SpanAttributeKey

LastTrace = Callable[[], tracewire.Trace]


def test_sync_function_records_inputs_outputs_and_type(last_trace: LastTrace) -> None:
    """A decorated function becomes a span with its bound arguments, return value and type."""

    @tracewire.trace(span_type=SpanType.TOOL, attributes={"team": "search"})
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert add(1) == 3
    span = last_trace().data.spans[0]
    assert span.name == "add"
    assert span.span_type == SpanType.TOOL
    assert span.inputs == {"a": 1, "b": 2}
    assert span.outputs == 3
    assert span.get_attribute("team") == "search"
    assert span.get_attribute(SpanAttributeKey.FUNCTION_NAME) == "add"
    assert span.status.status_code == SpanStatusCode.OK


def test_custom_name_and_bare_decorator(last_trace: LastTrace) -> None:
    """``@trace`` works without parentheses and ``name=`` renames the span."""

    @tracewire.trace
    def bare() -> str:
        return "x"

    @tracewire.trace(name="renamed")
    def original() -> str:
        return bare()

    original()
    names = [span.name for span in last_trace().data.spans]
    assert names == ["renamed", "bare"]


def test_keyword_and_variadic_arguments_are_bound() -> None:
    """Keyword-only, *args and **kwargs land in the inputs as Python binds them."""

    @tracewire.trace
    def call(a: int, *rest: int, flag: bool = False, **extra: str) -> None:
        del a, rest, flag, extra

    call(1, 2, 3, flag=True, tag="t")
    trace = tracewire.get_trace(tracewire.get_last_active_trace_id() or "")
    assert trace is not None
    assert trace.data.spans[0].inputs == {
        "a": 1,
        "rest": [2, 3],
        "flag": True,
        "extra": {"tag": "t"},
    }


def test_methods_drop_self_and_cls(last_trace: LastTrace) -> None:
    """Instance, class and static methods are traced without ``self``/``cls`` in the inputs."""

    class Service:
        @tracewire.trace
        def instance(self, q: str) -> str:
            return q

        @tracewire.trace
        @classmethod
        def klass(cls, q: str) -> str:
            return q

        @classmethod
        @tracewire.trace
        def klass_inner(cls, q: str) -> str:
            return q

        @tracewire.trace
        @staticmethod
        def static(q: str) -> str:
            return q

    for method in (Service().instance, Service.klass, Service.klass_inner, Service.static):
        assert method("hi") == "hi"
        assert last_trace().data.spans[0].inputs == {"q": "hi"}


def test_wrapping_an_external_function(last_trace: LastTrace) -> None:
    """``trace(math.factorial)`` traces a function we cannot decorate at its definition."""
    assert tracewire.trace(math.factorial)(5) == 120
    span = last_trace().data.spans[0]
    # The parameter is "n" from Python 3.11 on and "x" before; the inputs follow the signature.
    (parameter,) = inspect.signature(math.factorial).parameters
    assert (span.name, span.inputs, span.outputs) == ("factorial", {parameter: 5}, 120)


def test_wrapper_keeps_metadata_of_the_function() -> None:
    """The traced function keeps its name, docstring and ``__wrapped__``."""

    def documented(x: int) -> int:
        """Doc."""
        return x

    traced = tracewire.trace(documented)
    assert traced.__name__ == "documented"
    assert traced.__doc__ == "Doc."
    assert traced.__wrapped__ is documented  # type: ignore[attr-defined]


def test_exception_propagates_unchanged_and_marks_error(last_trace: LastTrace) -> None:
    """The same exception object reaches the caller; span and trace record ERROR."""
    raised = ValueError("bad input")

    @tracewire.trace
    def fail() -> None:
        raise raised

    with pytest.raises(ValueError) as caught:
        fail()
    assert caught.value is raised
    trace = last_trace()
    span = trace.data.spans[0]
    assert trace.info.state == TraceState.ERROR
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.status.description == "ValueError: bad input"
    event = span.events[0]
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "bad input"
    assert "raise raised" in str(event.attributes["exception.stacktrace"])


def test_outputs_set_inside_the_body_are_kept(last_trace: LastTrace) -> None:
    """``set_outputs`` called by the function wins over its return value."""

    @tracewire.trace
    def work() -> str:
        span = tracewire.get_current_active_span()
        assert span is not None
        span.set_outputs({"summary": "short"})
        return "a very long value"

    work()
    assert last_trace().data.spans[0].outputs == {"summary": "short"}


@pytest.mark.asyncio
async def test_async_function_is_awaited_and_traced(last_trace: LastTrace) -> None:
    """A coroutine function stays a coroutine function and its result is recorded."""

    @tracewire.trace
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    assert asyncio.iscoroutinefunction(fetch)
    assert await fetch(4) == 8
    assert last_trace().data.spans[0].outputs == 8


@pytest.mark.asyncio
async def test_async_exception_propagates(last_trace: LastTrace) -> None:
    """An async function's exception propagates unchanged and marks the span ERROR."""

    @tracewire.trace
    async def fail() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        await fail()
    assert last_trace().data.spans[0].status.status_code == SpanStatusCode.ERROR


def test_generator_records_items_and_children(last_trace: LastTrace) -> None:
    """A generator's span holds the yielded items; spans made in its body nest under it."""

    @tracewire.trace
    def child(i: int) -> int:
        return i

    @tracewire.trace
    def numbers(n: int) -> Iterator[int]:
        for i in range(n):
            yield child(i)

    assert list(numbers(3)) == [0, 1, 2]
    trace = last_trace()
    root = trace.data.spans[0]
    assert root.outputs == [0, 1, 2]
    assert [s.parent_id for s in trace.data.spans[1:]] == [root.span_id] * 3
    assert [e.name for e in root.events] == [f"mlflow.chunk.item.{i}" for i in range(3)]


def test_generator_output_reducer(last_trace: LastTrace) -> None:
    """``output_reducer`` turns the yielded items into the recorded outputs."""

    @tracewire.trace(output_reducer="".join)
    def stream() -> Iterator[str]:
        yield from ["a", "b", "c"]

    assert list(stream()) == ["a", "b", "c"]
    assert last_trace().data.spans[0].outputs == "abc"


def test_output_reducer_on_a_plain_function_is_rejected() -> None:
    """``output_reducer`` on a non-generator is a clear error at decoration time."""
    with pytest.raises(ValueError, match="output_reducer"):
        tracewire.trace(output_reducer=list)(lambda: 1)


def test_generator_return_value_and_send_pass_through() -> None:
    """``send()`` values reach the generator and its return value reaches ``yield from``."""

    @tracewire.trace
    def echo() -> Iterator[int]:
        received = yield 0
        yield received * 10
        return "done"

    generator = echo()
    assert next(generator) == 0
    assert generator.send(4) == 40
    with pytest.raises(StopIteration) as stop:
        next(generator)
    assert stop.value.value == "done"


def test_generator_broken_off_with_break_still_ends_its_span(last_trace: LastTrace) -> None:
    """``break`` out of a traced generator ends the span with the items seen (MLflow #25790)."""

    @tracewire.trace
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    for item in endless():
        if item == 2:
            break
    gc.collect()
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.outputs == [0, 1, 2]
    assert span.status.status_code == SpanStatusCode.OK
    assert span.events[-1].name == "generator_closed"
    assert tracewire._trace_manager.in_progress_count() == 0


def test_generator_closed_explicitly_runs_user_cleanup(last_trace: LastTrace) -> None:
    """``close()`` reaches the user's ``finally`` and ends the span once."""
    cleaned = []

    @tracewire.trace
    def resource() -> Iterator[int]:
        try:
            yield 1
            yield 2
        finally:
            cleaned.append(True)

    generator = resource()
    next(generator)
    generator.close()
    assert cleaned == [True]
    assert last_trace().data.spans[0].outputs == [1]


def test_generator_never_iterated_then_collected_leaves_nothing_in_progress() -> None:
    """A generator that is created but never started opens no span and leaks nothing."""

    @tracewire.trace
    def lazy() -> Iterator[int]:
        yield 1

    lazy()
    gc.collect()
    assert tracewire._trace_manager.in_progress_count() == 0
    assert tracewire.get_last_active_trace_id() is None


def test_exception_thrown_into_generator_is_forwarded(last_trace: LastTrace) -> None:
    """``generator.throw()`` reaches the user's generator, which may handle it."""

    @tracewire.trace
    def tolerant() -> Iterator[str]:
        try:
            yield "first"
        except RuntimeError:
            yield "recovered"

    generator = tolerant()
    assert next(generator) == "first"
    assert generator.throw(RuntimeError("x")) == "recovered"
    with pytest.raises(StopIteration):
        next(generator)
    assert last_trace().data.spans[0].outputs == ["first", "recovered"]


def test_generator_error_marks_span_error(last_trace: LastTrace) -> None:
    """An exception raised inside a generator propagates and marks its span ERROR."""

    @tracewire.trace
    def broken() -> Iterator[int]:
        yield 1
        raise OSError("disk")

    with pytest.raises(OSError, match="disk"):
        list(broken())
    span = last_trace().data.spans[0]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.outputs is None


def test_consumer_spans_are_not_nested_under_the_generator(last_trace: LastTrace) -> None:
    """The generator's span is active only while its body runs, not in the consumer's loop."""

    @tracewire.trace
    def items() -> Iterator[int]:
        yield from (1, 2)

    with tracewire.start_span("consumer") as consumer:
        for _ in items():
            with tracewire.start_span("per-item") as inner:
                assert inner.parent_id == consumer.span_id


@pytest.mark.asyncio
async def test_async_generator_records_items(last_trace: LastTrace) -> None:
    """An async generator is traced like a generator, reducer included."""

    @tracewire.trace(output_reducer=sum)
    async def numbers() -> AsyncIterator[int]:
        for i in range(4):
            await asyncio.sleep(0)
            yield i

    assert [i async for i in numbers()] == [0, 1, 2, 3]
    assert last_trace().data.spans[0].outputs == 6


@pytest.mark.asyncio
async def test_async_generator_closed_early_ends_span(last_trace: LastTrace) -> None:
    """``aclose()`` on a traced async generator ends its span with the items seen."""

    @tracewire.trace
    async def endless() -> AsyncIterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    generator = endless()
    assert await generator.__anext__() == 0
    await generator.aclose()
    assert last_trace().data.spans[0].outputs == [0]


def test_disabled_tracing_calls_straight_through() -> None:
    """With tracing disabled the function runs and no trace is recorded."""

    @tracewire.trace
    def work(x: int) -> int:
        return x + 1

    tracewire.tracing.disable()
    try:
        assert work(1) == 2
    finally:
        tracewire.tracing.enable()
    assert tracewire.get_last_active_trace_id() is None


def test_non_callable_is_rejected() -> None:
    """Decorating something that cannot be called is a clear TypeError."""
    with pytest.raises(TypeError, match="callable"):
        tracewire.trace(42)

"""The provider call skeleton: request rules, result dispatch, re-entry guard, raw-response proxies.

A tiny SDK of our own stands in for a Stainless-generated one: a resource method returning a
parsed result, a stream, or raw responses whose ``parse()`` the caller decides to call.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import wrapt

import tracewire
from tracewire import _errors, _trace_manager
from tracewire._constants import SpanType
from tracewire._integration import Integration
from tracewire._patching import Patcher
from tracewire._raw import AsyncRawResponseProxy, RawResponseProxy
from tracewire._requests import RequestRules, is_given
from tracewire._sdk_calls import (
    KeptEventsRecorder,
    ProviderCall,
    SdkTypes,
    call_factory,
    trace_method,
    traced_async_method,
    traced_method,
)
from tracewire._span import NO_OP_SPAN
from tracewire._streams import StreamProxy, StreamRecorder
from tracewire.entities import LiveSpan
from tracewire.tracing.constant import SpanAttributeKey

LastTrace = Callable[[], tracewire.Trace]


class NotGiven:
    """The SDKs' marker for an argument left out (matched by class name)."""


class Message:
    def __init__(self, text: str) -> None:
        self.text = text


class Stream:
    def __init__(self, texts: list[str]) -> None:
        self._texts = iter(texts)

    def __iter__(self) -> Iterator[str]:
        return self._texts

    def close(self) -> None:
        pass


class AsyncStream:
    pass


class RawResponse:
    """A raw response: ``parse()`` caches its result, as the SDKs' do."""

    def __init__(self, result: Any) -> None:
        self._result = result
        self.closed = False
        self.parses = 0

    def parse(self) -> Any:
        self.parses += 1
        return self._result

    def close(self) -> None:
        self.closed = True


class ReadRawResponse(RawResponse):
    """A raw response whose body the SDK read before returning it."""


class AsyncRawResponse(RawResponse):
    async def parse(self) -> Any:  # type: ignore[override]
        return super().parse()

    async def close(self) -> None:  # type: ignore[override]
        super().close()


TYPES = SdkTypes(
    stream=Stream,
    async_stream=AsyncStream,
    raw=(RawResponse,),
    async_raw=(AsyncRawResponse,),
    read_raw=(ReadRawResponse,),
)


def tool_named(tool: dict[str, Any]) -> dict[str, Any] | None:
    return {"type": "function", "function": {"name": tool["name"]}} if "name" in tool else None


RULES = RequestRules(
    "toy",
    secret_headers=("x-api-key",),
    not_parameters=("messages", "extra_headers"),
    chat_tool=tool_named,
)


class TextRecorder(StreamRecorder):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def on_item(self, item: Any) -> bool:
        self.texts.append(item)
        return True

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        span.set_outputs("".join(self.texts))


class ToyCall(ProviderCall):
    __slots__ = ()

    rules = RULES

    def record(self, span: LiveSpan, result: Any) -> None:
        span.set_outputs(result.text)

    def recorder(self, stream: Any) -> StreamRecorder:
        return TextRecorder()


class ToyIntegration(Integration):
    name = "toy_calls"


INTEGRATION = ToyIntegration()


make_call = call_factory(ToyCall, "toy.create", SpanType.CHAT_MODEL, TYPES, False)


def traced(
    function: Callable[..., Any], make: Callable[[Any, dict[str, Any]], Any] = make_call
) -> Callable[..., Any]:
    """``function`` traced the way an integration traces an SDK method (keyword arguments only)."""
    method = traced_method(
        Patcher(lambda: True), INTEGRATION, lambda _, **kwargs: function(**kwargs), ToyCall, make
    )
    return lambda **kwargs: method(None, **kwargs)


def only_span(last_trace: LastTrace) -> Any:
    (span,) = last_trace().data.spans
    return span


def test_inputs_drop_sdk_markers_and_secret_headers_and_name_classes() -> None:
    inputs = RULES.inputs(
        {
            "model": "m",
            "seed": NotGiven(),
            "extra_headers": {"X-Api-Key": "secret", "x-trace": "1"},
            "output_format": Message,
        }
    )

    assert inputs == {"model": "m", "extra_headers": {"x-trace": "1"}, "output_format": "Message"}
    assert not is_given(NotGiven())
    assert not is_given(None)
    assert is_given(0)


def test_a_secret_only_header_set_is_left_out() -> None:
    assert RULES.inputs({"extra_headers": {"x-api-key": "secret"}}) == {}


def test_chat_tools_skip_what_does_not_convert_and_none_when_nothing_does() -> None:
    assert RULES.chat_tools([{"name": "a"}, {"type": "web"}, "junk"]) == [
        {"type": "function", "function": {"name": "a"}}
    ]
    assert RULES.chat_tools([{"type": "web"}]) is None
    assert RULES.chat_tools("not a list") is None


def test_plain_result_is_recorded_with_provider_parameters_and_tools(
    last_trace: LastTrace,
) -> None:
    message = Message("hello")
    result = traced(lambda **kwargs: message)(model="m", messages="hi", tools=[{"name": "t"}])

    assert result is message
    span = only_span(last_trace)
    assert span.outputs == "hello"
    assert span.attributes[SpanAttributeKey.MODEL_PROVIDER] == "toy"
    assert span.attributes[SpanAttributeKey.MESSAGE_FORMAT] == "toy"
    assert span.attributes["model"] == "m"
    assert span.attributes[SpanAttributeKey.CHAT_TOOLS][0]["function"]["name"] == "t"


def test_stream_gets_a_proxy_that_records_it(last_trace: LastTrace) -> None:
    result = traced(lambda **kwargs: Stream(["a", "b"]))(stream=True)

    assert isinstance(result, StreamProxy)
    assert list(result) == ["a", "b"]
    assert only_span(last_trace).outputs == "ab"


class FollowingToyCall(ToyCall):
    """A call whose streams are followed in place where they can be."""

    __slots__ = ()

    assemble_stream = staticmethod(lambda events, model: {})


def test_a_stream_without_decoder_and_iterator_is_read_through_a_proxy_instead(
    last_trace: LastTrace,
) -> None:
    create = traced(
        lambda **kwargs: Stream(["a", "b"]),
        call_factory(FollowingToyCall, "toy.create", SpanType.CHAT_MODEL, TYPES, False),
    )

    result = create(stream=True)

    assert isinstance(result, StreamProxy)
    assert list(result) == ["a", "b"]
    assert only_span(last_trace).outputs == "ab"


def test_raw_response_with_a_read_body_is_parsed_at_once_and_returned_itself(
    last_trace: LastTrace,
) -> None:
    raw = ReadRawResponse(Message("hello"))

    result = traced(lambda **kwargs: raw)()

    assert result is raw
    assert raw.parses == 1
    assert only_span(last_trace).outputs == "hello"


def test_raw_stream_is_recorded_when_the_caller_parses_and_reads_it(
    last_trace: LastTrace,
) -> None:
    raw = ReadRawResponse(Stream(["a", "b"]))  # stream=True: never parsed behind the caller

    result = traced(lambda **kwargs: raw)(stream=True)

    assert isinstance(result, RawResponseProxy)
    assert raw.parses == 0
    stream = result.parse()
    assert stream is result.parse()  # the same proxy for the same parsed object
    assert list(stream) == ["a", "b"]
    assert only_span(last_trace).outputs == "ab"


def test_unread_raw_response_closed_unparsed_ends_without_outputs(
    last_trace: LastTrace,
) -> None:
    raw = RawResponse(Message("hello"))

    result = traced(lambda **kwargs: raw)()
    result.close()
    result.close()

    assert raw.closed
    assert raw.parses == 0
    span = only_span(last_trace)
    assert span.end_time_ns is not None
    assert span.outputs is None


def test_unread_raw_response_dropped_unparsed_still_ends_its_span(last_trace: LastTrace) -> None:
    result = traced(lambda **kwargs: RawResponse(Message("hello")))()
    del result
    gc.collect()

    assert only_span(last_trace).end_time_ns is not None


def test_async_raw_response_is_recorded_when_the_caller_awaits_parse(
    last_trace: LastTrace,
) -> None:
    raw = AsyncRawResponse(Message("hello"))

    async def create(instance: Any, **kwargs: Any) -> Any:
        return raw

    method = traced_async_method(Patcher(lambda: True), INTEGRATION, create, ToyCall, make_call)

    async def run() -> Any:
        result = await method(None)
        assert isinstance(result, AsyncRawResponseProxy)
        return await result.parse()

    assert asyncio.run(run()).text == "hello"
    assert only_span(last_trace).outputs == "hello"


def test_a_traced_call_inside_another_makes_no_second_span(last_trace: LastTrace) -> None:
    inner = traced(lambda **kwargs: Message("inner"))
    outer = traced(lambda **kwargs: inner(model="m"))

    assert outer(model="m").text == "inner"
    assert only_span(last_trace).outputs == "inner"


def test_call_factory_makes_a_call_of_the_class_that_is_its_own_span_started(
    last_trace: LastTrace,
) -> None:
    """The factory's call is an instance of the class, set up by its __init__, and an open span."""
    kwargs = {"messages": ["hi"]}

    call = make_call("the resource", kwargs)

    assert type(call) is ToyCall
    assert isinstance(call, LiveSpan)
    assert (call.kwargs, call.send) == (kwargs, kwargs)
    assert call.name == "toy.create"
    assert call.end_time_ns is None
    call.end()
    assert last_trace().data.spans[0].span_type == "CHAT_MODEL"


def test_call_factory_makes_no_call_when_tracing_is_suppressed(fresh_tracer: Any) -> None:
    with tracewire.tracing.suppress():
        assert make_call("the resource", {}) is NO_OP_SPAN


def test_a_failure_setting_up_the_call_leaves_no_span_open(fresh_tracer: Any) -> None:
    class BrokenCall(ToyCall):
        __slots__ = ()

        def __init__(self, *args: Any) -> None:
            raise RuntimeError("bug in the call's __init__")

    with pytest.raises(RuntimeError, match="bug in the call"):
        call_factory(BrokenCall, "toy.create", SpanType.CHAT_MODEL, TYPES, False)(None, {})
    assert _trace_manager.in_progress_count() == 0


def test_make_call_returning_none_leaves_the_call_untraced(fresh_tracer: Any) -> None:
    create = traced(lambda: "result", lambda instance, kwargs: None)

    assert create() == "result"
    tracewire.flush()
    assert fresh_tracer.list_traces() == []


def test_a_bug_in_make_call_is_logged_and_the_call_runs_untraced(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(instance: Any, kwargs: dict[str, Any]) -> ProviderCall:
        raise RuntimeError("bug in make_call")

    create = traced(lambda: "result", broken)
    monkeypatch.setattr(_errors, "_reported", set())
    monkeypatch.setenv("TRACEWIRE_STRICT", "0")

    assert create() == "result"
    assert "preparing a traced SDK call" in caplog.text

    monkeypatch.setenv("TRACEWIRE_STRICT", "1")
    with pytest.raises(RuntimeError, match="bug in make_call"):
        create()


class ServerSentEvent:
    def __init__(self, data: str) -> None:
        self.data = data


class LineDecoder:
    """Decodes one event per line, as the SDKs' ``SSEDecoder`` does per blank-line-ended block."""

    framing = "lines"

    def iter_bytes(self, chunks: Iterator[bytes]) -> Iterator[ServerSentEvent]:
        for chunk in chunks:
            yield ServerSentEvent(chunk.decode())

    async def aiter_bytes(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
        async for chunk in chunks:
            yield ServerSentEvent(chunk.decode())


class EventStream:
    """A stream read as Stainless streams are: a generator over ``_iter_events()``.

    As anthropic 2.x does, the generator runs on a copy of the stream, so that a dropped stream
    is freed at once rather than by the garbage collector.
    """

    def __init__(self, body: list[bytes]) -> None:
        self.body = body
        self._decoder = LineDecoder()
        self._iterator: Iterator[str] | None = None

    def _iter_events(self) -> Iterator[ServerSentEvent]:
        yield from self._decoder.iter_bytes(iter(self.body))

    def __stream__(self) -> Iterator[str]:
        for event in self._iter_events():
            yield event.data.upper()

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = copy.copy(self).__stream__()
        return self._iterator


class AsyncEventStream:
    def __init__(self, body: list[bytes]) -> None:
        self.body = body
        self._decoder = LineDecoder()

    async def _chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.body:
            yield chunk

    async def __aiter__(self) -> AsyncIterator[str]:
        async for event in self._decoder.aiter_bytes(self._chunks()):
            yield event.data.upper()


def keep(stream: Any) -> list[Any]:
    """The list into which a recorder standing in for ``stream``'s decoder keeps its events."""
    recorder = KeptEventsRecorder(stream, lambda events, model: {}, request_model=None)
    assert not recorder.wants_items
    return recorder.events  # type: ignore[return-value]  # a list until the stream ends


def test_a_stream_keeps_the_data_of_each_event_it_reads() -> None:
    stream = EventStream([b"one", b"two"])
    events = keep(stream)

    assert events == []
    assert list(stream) == ["ONE", "TWO"]
    assert [event.data for event in events] == ["one", "two"]


def test_an_async_stream_keeps_the_data_of_each_event_it_reads() -> None:
    stream = AsyncEventStream([b"one", b"two"])
    events = keep(stream)

    async def read() -> list[str]:
        return [item async for item in stream.__aiter__()]

    assert asyncio.run(read()) == ["ONE", "TWO"]
    assert [event.data for event in events] == ["one", "two"]


def test_a_stream_keeping_its_events_is_freed_without_the_garbage_collector() -> None:
    stream = EventStream([b"one", b"two"])
    keep(stream)
    items = iter(stream)
    next(items)
    alive = weakref.ref(stream)
    gc.disable()
    try:
        del stream
        assert alive() is None
    finally:
        gc.enable()


def test_a_recorder_passes_on_what_else_the_sdk_asks_of_its_decoder() -> None:
    stream = EventStream([b"one"])
    decoder = stream._decoder
    keep(stream)

    assert stream._decoder is not decoder
    assert stream._decoder.framing == decoder.framing


def test_a_recorder_keeps_only_the_events_data_once_the_stream_ends() -> None:
    assembled: list[tuple[Any, ...]] = []

    def assemble(events: tuple[Any, ...], request_model: Any) -> dict[str, Any]:
        assembled.append(events)
        return {}

    stream = EventStream([b"one", b"two"])
    recorder = KeptEventsRecorder(stream, assemble, request_model=None)
    assert list(stream) == ["ONE", "TWO"]
    assert isinstance(recorder.events, list)
    first_event = weakref.ref(recorder.events[0])
    gc.disable()
    try:
        with tracewire.start_span("stream") as span:
            recorder.on_end(span, "exhausted", None)
            del stream

            assert first_event() is None  # freed with the stream, not when the span is exported
            assert span.attributes is not None  # reading the span runs the pending derivation
    finally:
        gc.enable()
    assert assembled == [("one", "two")]


def test_a_stream_read_after_its_recorder_ended_keeps_no_more_events() -> None:
    stream = EventStream([b"one", b"two"])
    recorder = KeptEventsRecorder(stream, lambda events, model: {}, request_model=None)
    with tracewire.start_span("stream") as span:
        recorder.on_end(span, "closed", None)  # closed before it was read

    assert list(stream) == ["ONE", "TWO"]
    assert recorder.events == ()


def test_a_recorder_copying_items_ignores_items_read_after_the_stream_ended() -> None:
    assembled: list[tuple[Any, ...]] = []

    def assemble(events: tuple[Any, ...], request_model: Any) -> dict[str, Any]:
        assembled.append(events)
        return {}

    recorder = KeptEventsRecorder(Stream(["before"]), assemble, request_model=None)
    assert recorder.wants_items  # a stream without a decoder: its items are copied
    recorder.on_item("before")
    with tracewire.start_span("stream") as span:
        recorder.on_end(span, "closed", None)
        assert recorder.on_item("after") is True  # still passed on to the caller
        assert span.attributes is not None
    assert assembled == [("before",)]


def test_a_stream_without_a_decoder_is_left_as_it_is() -> None:
    stream = Stream(["a"])
    recorder = KeptEventsRecorder(stream, lambda events, model: {}, request_model=None)

    assert recorder.wants_items
    assert not hasattr(stream, "_decoder")
    with pytest.raises(AttributeError):
        recorder.framing  # type: ignore[attr-defined]  # noqa: B018 - stands in for no decoder


class Resource:
    def create(self, **kwargs: Any) -> Message:
        """Create a message."""
        return Message(kwargs.get("text", "hello"))


@pytest.fixture
def patcher() -> Iterator[Patcher]:
    patcher = Patcher(lambda: True)
    yield patcher
    patcher.undo()


def test_a_traced_method_keeps_the_sdk_methods_name_and_doc(patcher: Patcher) -> None:
    original = vars(Resource)["create"]

    trace_method(patcher, INTEGRATION, Resource, "create", ToyCall, make_call)

    assert Resource.create.__name__ == "create"
    assert Resource.create.__doc__ == "Create a message."
    assert Resource.create.__wrapped__ is original  # type: ignore[attr-defined]


def test_a_traced_method_kept_past_undo_calls_the_original_untraced(
    patcher: Patcher, fresh_tracer: Any
) -> None:
    trace_method(patcher, INTEGRATION, Resource, "create", ToyCall, make_call)
    create = Resource().create  # a reference taken while patched, as a caller may keep one

    patcher.undo()

    assert create(text="after").text == "after"
    tracewire.flush()
    assert fresh_tracer.list_traces() == []


def test_a_method_another_library_wrapped_first_is_traced_through_its_wrapper(
    patcher: Patcher, last_trace: LastTrace
) -> None:
    seen: list[Any] = []

    def theirs(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        seen.append(instance)
        return wrapped(*args, **kwargs)

    original = vars(Resource)["create"]
    Resource.create = wrapt.FunctionWrapper(original, theirs)  # type: ignore[method-assign]
    try:
        trace_method(patcher, INTEGRATION, Resource, "create", ToyCall, make_call)
        resource = Resource()

        assert resource.create(text="hi").text == "hi"
    finally:
        patcher.undo()
        Resource.create = original  # type: ignore[method-assign]
    assert seen == [resource]
    assert only_span(last_trace).outputs == "hi"


@pytest.mark.parametrize("untraced", ["disabled", "suppressed"])
def test_a_traced_method_builds_no_call_while_tracing_is_off(untraced: str) -> None:
    made: list[dict[str, Any]] = []

    def counting_make_call(instance: Any, kwargs: dict[str, Any]) -> ToyCall:
        made.append(kwargs)
        return make_call(instance, kwargs)

    create = traced(lambda **kwargs: Message("hi"), counting_make_call)
    if untraced == "disabled":
        tracewire.tracing.disable()
        try:
            assert create().text == "hi"
        finally:
            tracewire.tracing.enable()
    else:
        with tracewire.tracing.suppress():
            assert create().text == "hi"

    assert made == []


def test_dropping_a_call_breaks_the_cycle_with_its_own_derivation() -> None:
    """A call derives its own attributes; a dropped one must not wait for the garbage collector."""
    call = make_call("the resource", {})
    assert isinstance(call, ToyCall)
    call._record_later(call)
    _trace_manager.drop(call)
    assert call._later is None
    call.end()

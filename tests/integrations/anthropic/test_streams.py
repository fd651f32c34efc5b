"""``messages.create(stream=True)``: the rebuilt message, usage from the stream, every way to end."""

from __future__ import annotations

import functools
import gc
import json
from typing import Any

import anthropic
import pytest

import tracewire
from tracewire.anthropic._streams import message_attributes
from tracewire.entities import SpanStatusCode
from tracewire.tracing.constant import SpanAttributeKey

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64


# Newer SDKs make a stream's iterator from a copy of the stream, so that a dropped stream is freed
# at once; in older ones the iterator refers to the stream, and only the garbage collector frees it.
FREED_AT_ONCE = isinstance(vars(anthropic.Stream).get("_iterator"), functools.cached_property)


def stream(client: Any, messages: Any) -> Any:
    return client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse.", stream=True
    )


async def async_stream(async_client: Any, messages: Any) -> Any:
    return await async_client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse.", stream=True
    )


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_passes_every_event_through_unchanged(
    client: Any, messages: Any, hello_event_types: list[str]
) -> None:
    events = list(stream(client, messages))

    assert [event.type for event in events] == hello_event_types


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_is_still_an_sdk_stream(client: Any, messages: Any) -> None:
    result = stream(client, messages)

    assert isinstance(result, anthropic.Stream)
    result.close()


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_is_the_sdks_own_object_not_a_proxy(client: Any, messages: Any) -> None:
    result = stream(client, messages)

    assert type(result) is anthropic.Stream
    result.close()


@pytest.mark.vcr("messages_stream_overloaded.yaml")
def test_an_error_event_mid_stream_reaches_the_caller_and_marks_the_span(
    client: Any, messages: Any, last_trace: Any
) -> None:
    events = stream(client, messages)
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        seen.extend(event.type for event in events)  # keeps what came before the error

    assert seen == ["message_start", "content_block_start", "content_block_delta"]
    span = last_trace().data.spans[0]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.attributes["tracewire.stream.end"] == "error"
    (exception,) = span.events
    assert exception.name == "exception"
    assert exception.attributes["exception.type"] == type(raised.value).__name__
    assert exception.attributes["exception.message"] == str(raised.value)
    assert span.outputs["content"] == [{"type": "text", "text": "Hello"}]


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_usage_takes_output_from_the_last_message_delta_never_the_sum(
    client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    list(stream(client, messages))

    # message_start says 14 in / 1 out; message_delta's cumulative count says 5 out. Summing the
    # two output counts would give 6.
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.vcr("messages_stream.yaml")
def test_changing_the_events_afterwards_does_not_change_what_was_recorded(
    client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    events = {event.type: event for event in stream(client, messages)}
    events["message_start"].message.usage.input_tokens = 1_000
    events["message_start"].message.model = "changed"
    events["content_block_start"].content_block.text = "changed"
    events["message_delta"].usage.output_tokens = 1_000
    events["message_delta"].delta.stop_reason = "max_tokens"

    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes[SpanAttributeKey.MODEL] == MODEL
    assert span.outputs["content"][0]["text"] == "Hello there!"
    assert span.outputs["stop_reason"] == "end_turn"


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_output_is_the_final_accumulated_message(
    client: Any, messages: Any, last_trace: Any
) -> None:
    list(stream(client, messages))

    span = last_trace().data.spans[0]
    outputs = span.outputs
    assert outputs["type"] == "message"
    assert outputs["id"].startswith("msg_")
    assert outputs["model"] == MODEL
    assert outputs["content"] == [{"type": "text", "text": "Hello there!"}]
    assert outputs["stop_reason"] == "end_turn"
    assert outputs["usage"]["output_tokens"] == 5
    assert outputs["usage"]["input_tokens"] == 14


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_span_records_model_stop_reason_and_time_to_first_token(
    client: Any, messages: Any, last_trace: Any
) -> None:
    list(stream(client, messages))

    attributes = last_trace().data.spans[0].attributes
    assert attributes[SpanAttributeKey.MODEL] == MODEL
    assert attributes[SpanAttributeKey.MODEL_PROVIDER] == "anthropic"
    assert attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_inputs_keep_stream_true(client: Any, messages: Any, last_trace: Any) -> None:
    list(stream(client, messages))

    assert last_trace().data.spans[0].inputs == {
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "messages": messages,
        "system": "You are terse.",
        "stream": True,
    }


@pytest.mark.vcr("messages_stream_tool_use.yaml")
def test_streamed_tool_input_is_rebuilt_from_input_json_deltas(
    client: Any,
    last_trace: Any,
    weather_messages: list[dict[str, str]],
    weather_tool: dict[str, Any],
) -> None:
    list(
        client.messages.create(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            messages=weather_messages,
            tools=[weather_tool],
            stream=True,
        )
    )

    span = last_trace().data.spans[0]
    text, tool_use = span.outputs["content"]
    assert text == {"type": "text", "text": "I'll check the weather."}
    assert tool_use["type"] == "tool_use"
    assert tool_use["id"].startswith("toolu_")
    assert tool_use["name"] == "get_weather"
    assert tool_use["input"] == {"city": "Paris"}
    assert span.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["output_tokens"] == 61
    assert span.attributes[SpanAttributeKey.CHAT_TOOLS][0]["function"]["name"] == "get_weather"


@pytest.mark.vcr("messages_stream_prompt_caching_read.yaml")
def test_stream_cache_figures_repeated_in_message_delta_are_not_counted_twice(
    client: Any, messages: Any, last_trace: Any, cached_system: list[dict[str, Any]]
) -> None:
    list(
        client.messages.create(
            model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system=cached_system, stream=True
        )
    )

    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE] == {
        "input_tokens": 1812,
        "output_tokens": 4,
        "total_tokens": 1816,
        "cache_read_input_tokens": 1800,
        "cache_creation_input_tokens": 0,
    }


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_used_as_context_manager_ends_the_span_on_exit(
    client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    with stream(client, messages) as events:
        texts = [e.delta.text for e in events if e.type == "content_block_delta"]

    assert texts == ["Hello", " there", "!"]
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.vcr("messages_stream.yaml")
def test_leaving_a_stream_with_block_early_ends_the_span_as_exited(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with stream(client, messages) as events:
        next(iter(events))

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "exited"
    assert span.outputs["content"] == []


@pytest.mark.vcr("messages_stream.yaml")
def test_early_break_then_close_ends_the_span_once_with_partial_output(
    client: Any, messages: Any, last_trace: Any, fresh_tracer: Any
) -> None:
    events = stream(client, messages)
    for event in events:
        if event.type == "content_block_delta":
            break
    events.close()
    events.close()  # a second close must not end the span again

    tracewire.flush()
    (trace,) = fresh_tracer.list_traces()
    assert len(trace.data.spans) == 1
    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "closed"
    assert span.outputs["content"] == [{"type": "text", "text": "Hello"}]
    # message_start's figures are all that arrived; the output count is its initial one.
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["input_tokens"] == 14
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["output_tokens"] == 1


@pytest.mark.vcr("messages_stream.yaml")
def test_early_break_without_close_ends_the_span_when_the_stream_is_dropped(
    client: Any, messages: Any, last_trace: Any, collect_garbage: Any
) -> None:
    for event in stream(client, messages):
        if event.type == "content_block_delta":
            break
    collect_garbage()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "garbage_collected"
    assert span.outputs["content"] == [{"type": "text", "text": "Hello"}]


@pytest.mark.skipif(not FREED_AT_ONCE, reason="this anthropic frees a stream in its GC only")
@pytest.mark.vcr("messages_stream.yaml")
def test_a_stream_dropped_early_ends_its_span_at_once_without_the_garbage_collector(
    client: Any, messages: Any, last_trace: Any
) -> None:
    gc.disable()
    try:
        for event in stream(client, messages):
            if event.type == "content_block_delta":
                break

        span = last_trace().data.spans[0]
    finally:
        gc.enable()
    assert span.attributes["tracewire.stream.end"] == "garbage_collected"


@pytest.mark.vcr("messages_stream.yaml")
def test_a_stream_closed_while_tracing_is_suppressed_still_ends_its_span(
    client: Any, messages: Any, last_trace: Any
) -> None:
    result = stream(client, messages)
    next(iter(result))

    with tracewire.tracing.suppress():
        result.close()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "closed"


@pytest.mark.vcr("messages_stream.yaml")
def test_a_stream_closed_after_autolog_is_off_ends_its_span_when_dropped(
    client: Any, messages: Any, last_trace: Any, collect_garbage: Any
) -> None:
    result = stream(client, messages)
    next(iter(result))
    tracewire.anthropic.autolog(disable=True)  # restores the SDK's own close()
    result.close()

    del result
    collect_garbage()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "garbage_collected"
    assert span.outputs["content"] == []


@pytest.mark.vcr("messages_stream.yaml")
def test_never_read_stream_still_yields_a_trace(
    client: Any, messages: Any, last_trace: Any, collect_garbage: Any
) -> None:
    result = stream(client, messages)
    del result
    collect_garbage()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "garbage_collected"
    assert span.status.status_code == SpanStatusCode.OK
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes  # nothing reported: no made-up 0


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_stream_is_traced_with_usage_and_output(
    async_client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    result = await async_stream(async_client, messages)
    assert isinstance(result, anthropic.AsyncStream)
    events = [event async for event in result]

    assert len(events) == 8
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello there!"}]
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream_tool_use.yaml")
async def test_async_streamed_tool_use_is_rebuilt(
    async_client: Any,
    last_trace: Any,
    weather_messages: list[dict[str, str]],
    weather_tool: dict[str, Any],
) -> None:
    result = await async_client.messages.create(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        messages=weather_messages,
        tools=[weather_tool],
        stream=True,
    )
    async with result as events:
        async for _ in events:
            pass

    span = last_trace().data.spans[0]
    assert span.outputs["content"][1]["input"] == {"city": "Paris"}


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_stream_is_the_sdks_own_object_and_ends_as_exited_with_its_block(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    result = await async_stream(async_client, messages)
    async with result as events:
        await events.__anext__()

    assert type(result) is anthropic.AsyncStream
    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "exited"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream_overloaded.yaml")
async def test_async_error_event_mid_stream_marks_the_span(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    result = await async_stream(async_client, messages)
    with pytest.raises(anthropic.APIStatusError):
        async for _ in result:
            pass

    span = last_trace().data.spans[0]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.attributes["tracewire.stream.end"] == "error"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_early_break_then_close_ends_the_span(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    result = await async_stream(async_client, messages)
    async for event in result:
        if event.type == "content_block_delta":
            break
    await result.close()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "closed"
    assert span.outputs["content"] == [{"type": "text", "text": "Hello"}]


@pytest.mark.vcr("messages_stream.yaml")
def test_stream_output_usage_is_message_start_usage_updated_by_the_last_delta(
    client: Any, messages: Any, last_trace: Any
) -> None:
    list(stream(client, messages))

    assert last_trace().data.spans[0].outputs["usage"] == {
        "input_tokens": 14,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 5,
        "service_tier": "standard",
    }


class ServerSentEvent:
    """What a ``KeptEventsRecorder`` keeps: the event, with the ``data`` the server sent."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = json.dumps(data)


def message_start(**fields: Any) -> ServerSentEvent:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
        **fields,
    }
    return ServerSentEvent({"type": "message_start", "message": message})


def message_delta(stop_reason: str, **fields: Any) -> ServerSentEvent:
    return ServerSentEvent(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None, **fields},
            "usage": {"output_tokens": 7},
        }
    )


def test_a_tool_called_without_arguments_keeps_its_empty_input() -> None:
    tool = {"type": "tool_use", "id": "toolu_1", "name": "current_time", "input": {}}
    events = [
        message_start(),
        ServerSentEvent({"type": "content_block_start", "index": 0, "content_block": tool}),
        ServerSentEvent(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            }
        ),
        ServerSentEvent({"type": "content_block_stop", "index": 0}),
        message_delta("tool_use"),
        ServerSentEvent({"type": "message_stop"}),
    ]

    outputs = message_attributes(events, MODEL)[SpanAttributeKey.OUTPUTS]

    assert outputs["content"] == [tool]
    assert outputs["stop_reason"] == "tool_use"


def test_message_fields_the_sdk_may_not_know_are_recorded_as_the_api_sent_them() -> None:
    events = [
        message_start(container={"id": "container_1"}),
        message_delta("end_turn", a_field_added_later="value"),
    ]

    outputs = message_attributes(events, MODEL)[SpanAttributeKey.OUTPUTS]

    assert outputs["container"] == {"id": "container_1"}
    assert outputs["a_field_added_later"] == "value"
    assert outputs["usage"] == {"input_tokens": 12, "output_tokens": 7}

"""``with_raw_response`` / ``with_streaming_response``: the caller keeps the raw response and its body.

The SDK marks these requests with a header only; the request body and path are those of a plain
call, so the plain ``messages_create`` and ``messages_stream`` cassettes replay them.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tracewire.tracing.constant import SpanAttributeKey

REQUEST = {
    "model": "claude-opus-4-7",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hello."}],
    "system": "You are terse.",
}


@pytest.mark.vcr("messages_create.yaml")
def test_raw_response_is_returned_as_is_and_recorded(
    client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    raw = client.messages.with_raw_response.create(**REQUEST)

    assert type(raw) is anthropic.APIResponse  # the SDK's object itself, not a proxy
    assert raw.headers["request-id"].startswith("req_")
    message = raw.parse()
    assert message is raw.parse()
    assert message.content[0].text == "Hello!"
    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs == message.model_dump(mode="json", exclude_unset=True)
    assert span.attributes["gen_ai.response.finish_reasons"] == ["end_turn"]


@pytest.mark.vcr("messages_stream.yaml")
def test_raw_stream_is_traced_where_the_caller_reads_it(
    client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    raw = client.messages.with_raw_response.create(**REQUEST, stream=True)
    stream = raw.parse()
    assert stream is raw.parse()
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)

    assert [event.type for event in events][-1] == "message_stop"
    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello there!"}]
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.vcr("messages_create.yaml")
def test_streaming_response_body_is_read_only_by_the_caller(
    client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with client.messages.with_streaming_response.create(**REQUEST) as response:
        assert not response.is_closed  # tracewire did not touch the body
        message = response.parse()

    assert message.content[0].text == "Hello!"
    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello!"}]


@pytest.mark.vcr("messages_stream.yaml")
def test_streaming_response_of_a_stream_is_traced_to_the_end(
    client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with client.messages.with_streaming_response.create(**REQUEST, stream=True) as response:
        texts = [e.delta.text for e in response.parse() if e.type == "content_block_delta"]

    assert texts == ["Hello", " there", "!"]
    assert only_span().attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.vcr("messages_create.yaml")
def test_streaming_response_read_raw_ends_its_span_at_exit_without_outputs(
    client: Any, only_span: Any
) -> None:
    with client.messages.with_streaming_response.create(**REQUEST) as response:
        body = b"".join(response.iter_bytes())

    assert b'"Hello!"' in body
    span = only_span()
    assert span.end_time_ns is not None
    assert span.outputs is None  # nobody parsed it
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes


@pytest.mark.vcr("messages_stream.yaml")
def test_raw_stream_closed_unparsed_ends_its_span_without_outputs(
    client: Any, only_span: Any
) -> None:
    raw = client.messages.with_raw_response.create(**REQUEST, stream=True)
    raw.close()

    span = only_span()
    assert span.end_time_ns is not None
    assert span.outputs is None
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes


@pytest.mark.vcr("messages_stream.yaml")
def test_raw_stream_dropped_unparsed_still_ends_its_span(
    client: Any, only_span: Any, collect_garbage: Any
) -> None:
    raw = client.messages.with_raw_response.create(**REQUEST, stream=True)
    del raw
    collect_garbage()

    assert only_span().end_time_ns is not None


@pytest.mark.asyncio
@pytest.mark.vcr("messages_create.yaml")
async def test_async_raw_response_is_recorded_when_parsed(
    async_client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    raw = await async_client.messages.with_raw_response.create(**REQUEST)

    assert isinstance(raw, anthropic.AsyncAPIResponse)
    assert raw.headers["request-id"].startswith("req_")
    message = await raw.parse()
    assert message is await raw.parse()
    assert message.content[0].text == "Hello!"
    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello!"}]


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_raw_stream_is_traced_where_the_caller_reads_it(
    async_client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    raw = await async_client.messages.with_raw_response.create(**REQUEST, stream=True)
    stream = await raw.parse()
    events = [event async for event in stream]

    assert len(events) == 8
    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_create.yaml")
async def test_async_streaming_response_is_traced(
    async_client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    async with async_client.messages.with_streaming_response.create(**REQUEST) as response:
        assert not response.is_closed
        message = await response.parse()

    assert message.content[0].text == "Hello!"
    assert only_span().attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_streaming_response_of_a_stream_is_traced_to_the_end(
    async_client: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    async with async_client.messages.with_streaming_response.create(
        **REQUEST, stream=True
    ) as response:
        events = [event async for event in await response.parse()]

    assert events[-1].type == "message_stop"
    assert only_span().attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.asyncio
@pytest.mark.vcr("messages_create.yaml")
async def test_async_streaming_response_closed_unparsed_ends_its_span_without_outputs(
    async_client: Any, only_span: Any
) -> None:
    async with async_client.messages.with_streaming_response.create(**REQUEST) as response:
        await response.close()

    span = only_span()
    assert span.end_time_ns is not None
    assert span.outputs is None
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes

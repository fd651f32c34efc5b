"""The ``messages.stream()`` helper, read every way the SDK offers, sync and async."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

import tracewire
from tracewire._config import SETTINGS
from tracewire.entities import SpanStatusCode, SpanType
from tracewire.tracing.constant import SpanAttributeKey

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64


def helper(client: Any, messages: Any) -> Any:
    return client.messages.stream(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse."
    )


@pytest.mark.vcr("messages_stream.yaml")
def test_text_stream_is_traced_with_usage_and_the_final_message(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with helper(client, messages) as stream:
        text = "".join(stream.text_stream)

    assert text == "Hello there!"
    span = only_span()
    assert span.name == "anthropic.messages.stream"
    assert span.span_type == SpanType.CHAT_MODEL
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello there!"}]
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.vcr("messages_stream.yaml")
def test_a_sampled_out_helper_stream_reads_as_without_tracing(
    client: Any, messages: Any, fresh_tracer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEWIRE_TRACE_SAMPLING_RATIO", "0")
    SETTINGS.reload_environment()

    with helper(client, messages) as stream:
        text = "".join(stream.text_stream)

    assert text == "Hello there!"
    tracewire.flush()
    assert fresh_tracer.list_traces() == []


@pytest.mark.vcr("messages_stream.yaml")
def test_get_final_message_is_traced_and_matches_the_sdk_message(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with helper(client, messages) as stream:
        message = stream.get_final_message()

    span = only_span()
    assert message.usage.output_tokens == 5
    assert span.outputs["content"] == [
        block.model_dump(exclude_none=True) for block in message.content
    ]
    assert span.outputs["stop_reason"] == message.stop_reason == "end_turn"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.vcr("messages_stream.yaml")
def test_until_done_is_traced(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with helper(client, messages) as stream:
        stream.until_done()

    assert only_span().attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.vcr("messages_stream.yaml")
def test_iterating_the_helper_sees_the_sdk_events_and_is_traced(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with helper(client, messages) as stream:
        kinds = [event.type for event in stream]

    assert "text" in kinds  # the helper's own derived events still arrive
    assert kinds[-1] == "message_stop"
    assert only_span().attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.vcr("messages_stream.yaml")
def test_leaving_the_helper_early_ends_the_span_once(
    client: Any, messages: Any, only_span: Any
) -> None:
    with helper(client, messages) as stream:
        for event in stream:
            if event.type == "text":
                break

    span = only_span()
    assert span.attributes["tracewire.stream.end"] == "closed"
    assert span.outputs["content"] == [{"type": "text", "text": "Hello"}]


def test_a_helper_never_entered_sends_nothing_and_records_nothing(
    client: Any, messages: Any, fresh_tracer: Any
) -> None:
    manager = helper(client, messages)

    assert type(manager).__name__ == "MessageStreamManager"
    tracewire.flush()
    assert fresh_tracer.list_traces() == []


@pytest.mark.vcr("messages_error_429.yaml")
def test_helper_error_reaches_the_caller_and_marks_the_span(
    client: Any, messages: Any, only_span: Any
) -> None:
    with pytest.raises(anthropic.RateLimitError), helper(client, messages):
        pass

    span = only_span()
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "RateLimitError"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_text_stream_is_traced(
    async_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    async with helper(async_client, messages) as stream:
        text = "".join([piece async for piece in stream.text_stream])

    assert text == "Hello there!"
    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_get_final_message_is_traced(
    async_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    async with helper(async_client, messages) as stream:
        message = await stream.get_final_message()

    assert message.content[0].text == "Hello there!"
    assert only_span().attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.asyncio
@pytest.mark.vcr("messages_stream.yaml")
async def test_async_leaving_the_helper_early_ends_the_span(
    async_client: Any, messages: Any, only_span: Any
) -> None:
    async with helper(async_client, messages) as stream:
        async for event in stream:
            if event.type == "text":
                break

    span = only_span()
    assert span.attributes["tracewire.stream.end"] == "closed"

"""``with_raw_response`` / ``with_streaming_response``: the caller keeps the raw response and its body."""

from __future__ import annotations

from typing import Any

import pytest

from tracewire._sdk_calls import ProviderCall
from tracewire.tracing.constant import SpanAttributeKey

MATCH_BODY = ["method", "scheme", "host", "port", "path", "query", "body"]


@pytest.mark.vcr("chat_completion.yaml")
def test_raw_response_is_returned_as_is_and_usage_is_recorded(
    client: Any, messages: Any, last_trace: Any
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)

    assert type(raw).__name__ == "LegacyAPIResponse"  # the SDK's object itself, not a proxy
    assert raw.headers["x-request-id"].startswith("req_")
    completion = raw.parse()
    assert completion is raw.parse()
    assert completion.choices[0].message.content == "Hello!"
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21
    assert span.outputs["choices"][0]["message"]["content"] == "Hello!"


@pytest.mark.vcr("chat_completion.yaml")
def test_raw_response_inputs_are_read_from_the_request_it_answers(
    client: Any, messages: Any, last_trace: Any, request_bodies_after: Any
) -> None:
    bodies = request_bodies_after(ProviderCall, "finish")
    sent = [dict(message) for message in messages]
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
    messages.clear()

    assert bodies[0] == raw.http_response.request.content  # the SDK parsed nothing yet
    assert last_trace().data.spans[0].inputs["messages"] == sent


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_raw_stream_is_traced_where_the_caller_reads_it(
    client: Any, messages: Any, last_trace: Any
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages, stream=True
    )
    stream = raw.parse()
    assert stream is raw.parse()
    chunks = list(stream)

    assert all(chunk.choices for chunk in chunks)
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 22
    assert span.outputs["choices"][0]["message"]["content"] == "Hello there!"


@pytest.mark.vcr("chat_completion.yaml")
def test_streaming_response_body_is_read_only_by_the_caller(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=messages
    ) as response:
        assert not response.is_closed  # tracewire did not touch the body
        completion = response.parse()

    assert completion.choices[0].message.content == "Hello!"
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21


@pytest.mark.vcr("chat_completion.yaml")
def test_streaming_response_read_raw_ends_its_span_at_exit_without_usage(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=messages
    ) as response:
        body = b"".join(response.iter_bytes())

    assert b'"Hello!"' in body
    span = last_trace().data.spans[0]
    assert span.end_time_ns is not None
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes  # nobody parsed it


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_streaming_response_of_a_stream_is_traced_to_the_end(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=messages, stream=True
    ) as response:
        contents = [chunk.choices[0].delta.content for chunk in response.parse()]

    assert contents == ["", "Hello", " there", "!", None]
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 22


@pytest.mark.asyncio
@pytest.mark.vcr("chat_completion.yaml")
async def test_async_streaming_response_is_traced(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    async with async_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=messages
    ) as response:
        completion = await response.parse()

    assert completion.choices[0].message.content == "Hello!"
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21


@pytest.mark.asyncio
@pytest.mark.vcr("chat_completion.yaml")
async def test_async_raw_response_is_traced(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    raw = await async_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages
    )

    assert raw.parse().choices[0].message.content == "Hello!"
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21

"""``AnthropicBedrock`` clients reuse the messages resource classes, so their calls are traced too.

Bedrock posts to ``/model/<model id>/invoke`` (or ``/invoke-with-response-stream``), signs each
request with SigV4 through botocore, and streams AWS event-stream frames that the SDK decodes back
into the Messages API's events. Signing needs boto3 even on replay, so without it these tests skip.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tracewire.tracing.constant import SpanAttributeKey

pytest.importorskip(
    "boto3", reason="AnthropicBedrock signs requests with boto3/botocore; run `nox -s anthropic`"
)

BEDROCK_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
RESPONSE_MODEL = "claude-haiku-4-5-20251001"  # what Bedrock's message names
MAX_TOKENS = 64
# Read by the SDK or by boto3: a bearer token would replace SigV4 (and conflict with the keys
# below); a base URL would move the requests off the recorded host.
BEDROCK_ENVIRONMENT = (
    "AWS_BEARER_TOKEN_BEDROCK",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
)


@pytest.fixture
def bedrock_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the environment variables that would change how the client signs or where it posts."""
    for name in BEDROCK_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bedrock_client(autolog: None, bedrock_environment: None) -> Any:
    """A Bedrock client with dummy static keys: botocore signs offline, nothing is looked up."""
    return anthropic.AnthropicBedrock(
        aws_access_key="test", aws_secret_key="test", aws_region="us-east-1", max_retries=0
    )


@pytest.fixture
def async_bedrock_client(autolog: None, bedrock_environment: None) -> Any:
    """The async Bedrock client, with the same dummy keys."""
    return anthropic.AsyncAnthropicBedrock(
        aws_access_key="test", aws_secret_key="test", aws_region="us-east-1", max_retries=0
    )


def request(messages: Any, **kwargs: Any) -> dict[str, Any]:
    """The arguments both Bedrock cassettes were recorded with."""
    return {
        "model": BEDROCK_MODEL,
        "max_tokens": MAX_TOKENS,
        "messages": messages,
        "system": "You are terse.",
        **kwargs,
    }


def assert_create_span(span: Any, hello_usage: dict[str, int]) -> None:
    """The span of the non-streamed Bedrock call: usage, model and the message."""
    assert span.name == "anthropic.messages.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes[SpanAttributeKey.MODEL] == RESPONSE_MODEL
    assert span.attributes[SpanAttributeKey.MODEL_PROVIDER] == "anthropic"
    assert span.inputs["model"] == BEDROCK_MODEL
    assert span.outputs["content"] == [{"type": "text", "text": "Hello!"}]
    assert span.outputs["stop_reason"] == "end_turn"


def assert_stream_span(span: Any, hello_usage: dict[str, int]) -> None:
    """The span of the streamed Bedrock call: the cumulative usage and the rebuilt message."""
    # message_start says 14 in / 1 out; message_delta's cumulative count says 5 out.
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes[SpanAttributeKey.MODEL] == RESPONSE_MODEL
    assert span.outputs["content"] == [{"type": "text", "text": "Hello there!"}]
    assert span.outputs["stop_reason"] == "end_turn"
    assert span.outputs["usage"]["output_tokens"] == 5
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.vcr("bedrock_messages_create.yaml")
def test_bedrock_create_is_traced_with_usage(
    bedrock_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    message = bedrock_client.messages.create(**request(messages))

    assert message.content[0].text == "Hello!"
    assert_create_span(only_span(), hello_usage)


@pytest.mark.vcr("bedrock_messages_stream.yaml")
def test_bedrock_stream_is_traced_with_stream_usage(
    bedrock_client: Any,
    messages: Any,
    only_span: Any,
    hello_usage: dict[str, int],
    hello_event_types: list[str],
) -> None:
    events = list(bedrock_client.messages.create(**request(messages, stream=True)))

    # The decoded event-stream frames reach the caller as the SDK's usual events.
    assert [event.type for event in events] == hello_event_types
    assert_stream_span(only_span(), hello_usage)


@pytest.mark.vcr("bedrock_messages_stream.yaml")
def test_bedrock_stream_helper_matches_the_sdk_final_message(
    bedrock_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with bedrock_client.messages.stream(**request(messages)) as stream:
        message = stream.get_final_message()

    span = only_span()
    assert span.name == "anthropic.messages.stream"
    assert span.outputs["content"] == [
        block.model_dump(mode="json", exclude_none=True) for block in message.content
    ]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.asyncio
@pytest.mark.vcr("bedrock_messages_create.yaml")
async def test_async_bedrock_create_is_traced_with_usage(
    async_bedrock_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    await async_bedrock_client.messages.create(**request(messages))

    assert_create_span(only_span(), hello_usage)


@pytest.mark.asyncio
@pytest.mark.vcr("bedrock_messages_stream.yaml")
async def test_async_bedrock_stream_is_traced_with_stream_usage(
    async_bedrock_client: Any,
    messages: Any,
    only_span: Any,
    hello_usage: dict[str, int],
    hello_event_types: list[str],
) -> None:
    events = [
        event
        async for event in await async_bedrock_client.messages.create(
            **request(messages, stream=True)
        )
    ]

    assert [event.type for event in events] == hello_event_types
    assert_stream_span(only_span(), hello_usage)

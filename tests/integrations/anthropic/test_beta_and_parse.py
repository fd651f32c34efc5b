"""The beta messages resource (create, streams, the stream helper) and ``messages.parse``."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from pydantic import BaseModel

from tracewire.tracing.constant import SpanAttributeKey

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64
BETAS = ["token-efficient-tools-2025-02-19"]
# anthropic 1.x posts beta calls to `/v1/messages?beta=true`, 2.x to `/v1/messages`: the beta
# cassettes (recorded with 2.x) match on everything but the query.
MATCH_WITHOUT_QUERY = ["method", "scheme", "host", "port", "path"]


class City(BaseModel):
    """A city; pydantic sends this docstring as the schema's description."""

    name: str
    country: str


def beta_create(client: Any, messages: Any, **kwargs: Any) -> Any:
    return client.beta.messages.create(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        messages=messages,
        system="You are terse.",
        betas=BETAS,
        **kwargs,
    )


@pytest.mark.vcr("beta_messages_create.yaml", match_on=MATCH_WITHOUT_QUERY)
def test_beta_create_is_traced_with_usage(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    message = beta_create(client, messages)

    assert type(message).__name__ == "BetaMessage"
    span = only_span()
    assert span.name == "anthropic.beta.messages.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.inputs["betas"] == BETAS
    assert span.outputs["content"] == [{"type": "text", "text": "Hello!"}]


@pytest.mark.vcr("beta_messages_stream.yaml", match_on=MATCH_WITHOUT_QUERY)
def test_beta_stream_is_traced_with_stream_usage(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    events = list(beta_create(client, messages, stream=True))

    assert len(events) == 8
    span = only_span()
    assert span.name == "anthropic.beta.messages.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello there!"}]


@pytest.mark.vcr("beta_messages_stream.yaml", match_on=MATCH_WITHOUT_QUERY)
def test_beta_stream_helper_is_traced(
    client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    with client.beta.messages.stream(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, betas=BETAS
    ) as stream:
        message = stream.get_final_message()

    assert message.content[0].text == "Hello there!"
    span = only_span()
    assert span.name == "anthropic.beta.messages.stream"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.asyncio
@pytest.mark.vcr("beta_messages_create.yaml", match_on=MATCH_WITHOUT_QUERY)
async def test_async_beta_create_is_traced(
    async_client: Any, messages: Any, only_span: Any
) -> None:
    await async_client.beta.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, betas=BETAS
    )

    assert only_span().name == "anthropic.beta.messages.create"


@pytest.mark.asyncio
@pytest.mark.vcr("beta_messages_stream.yaml", match_on=MATCH_WITHOUT_QUERY)
async def test_async_beta_stream_helper_is_traced(
    async_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    async with async_client.beta.messages.stream(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, betas=BETAS
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])

    assert text == "Hello there!"
    span = only_span()
    assert span.name == "anthropic.beta.messages.stream"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.fixture
def parse_api(client: Any) -> None:
    """Skip on SDKs whose non-beta messages resource has no ``parse``."""
    if not hasattr(client.messages, "parse"):
        pytest.skip(f"anthropic {anthropic.__version__} has no messages.parse")


@pytest.mark.vcr("messages_parse.yaml")
def test_parse_is_traced_once_with_the_parsed_message(
    client: Any, parse_api: None, only_span: Any
) -> None:
    message = client.messages.parse(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": "Paris facts"}],
        output_format=City,
    )

    assert message.parsed_output == City(name="Paris", country="France")
    span = only_span()  # parse posts by itself: no nested create span either way
    assert span.name == "anthropic.messages.parse"
    assert span.inputs["output_format"] == "City"
    assert span.outputs["content"][0]["text"] == '{"name":"Paris","country":"France"}'
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 70

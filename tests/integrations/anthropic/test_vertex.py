"""``AnthropicVertex`` clients reuse the messages resource classes, so their calls are traced too."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tracewire.tracing.constant import SpanAttributeKey

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64


@pytest.fixture
def vertex_client(autolog: None) -> Any:
    """A Vertex AI client with a dummy access token: no Google credentials are looked up."""
    return anthropic.AnthropicVertex(
        region="us-east5", project_id="tracewire-test", access_token="ya29.test", max_retries=0
    )


@pytest.mark.vcr("vertex_messages_create.yaml")
def test_vertex_create_is_traced_with_usage(
    vertex_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    vertex_client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse."
    )

    span = only_span()
    assert span.name == "anthropic.messages.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes[SpanAttributeKey.MODEL_PROVIDER] == "anthropic"


@pytest.mark.vcr("vertex_messages_stream.yaml")
def test_vertex_stream_is_traced_with_stream_usage(
    vertex_client: Any, messages: Any, only_span: Any, hello_usage: dict[str, int]
) -> None:
    events = vertex_client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse.", stream=True
    )
    list(events)

    span = only_span()
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.outputs["content"] == [{"type": "text", "text": "Hello there!"}]

"""Extended thinking and citations: the span's outputs keep thinking blocks and cited text blocks.

A streamed thinking block arrives as ``thinking_delta`` pieces then one ``signature_delta``; a cited
text block gets a ``citations_delta`` per citation. The span's outputs (the final message rebuilt
from the events) must hold what the SDK's own accumulation (``get_final_message()``) holds.
"""

from __future__ import annotations

from typing import Any

import pytest

from tracewire.tracing.constant import SpanAttributeKey

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64
THINKING = {"type": "enabled", "budget_tokens": 1024}
THINKING_MAX_TOKENS = 2048  # above the thinking budget, as the API requires
THINKING_TEXT = "The user wants a greeting. A short one will do."
CITATION = {
    "type": "char_location",
    "cited_text": "The grass is green.",
    "document_index": 0,
    "document_title": "My Document",
    "start_char_index": 0,
    "end_char_index": 20,
}
# The three text blocks of the citations cassettes; only the middle one cites the document.
CITED_CONTENT = [
    {"type": "text", "text": "According to the document, "},
    {"type": "text", "text": "the grass is green", "citations": [CITATION]},
    {"type": "text", "text": "."},
]


@pytest.fixture
def citation_messages() -> list[dict[str, Any]]:
    """A plain-text document with citations enabled, and a question about it."""
    document = {
        "type": "document",
        "source": {
            "type": "text",
            "media_type": "text/plain",
            "data": "The grass is green. The sky is blue.",
        },
        "title": "My Document",
        "citations": {"enabled": True},
    }
    return [
        {
            "role": "user",
            "content": [document, {"type": "text", "text": "What color is the grass?"}],
        }
    ]


def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    """``mlflow.chat.tokenUsage`` of a cassette that reads and writes no cache."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }


def think(client: Any, messages: Any, **kwargs: Any) -> Any:
    """``messages.create`` with extended thinking on."""
    return client.messages.create(
        model=MODEL, max_tokens=THINKING_MAX_TOKENS, messages=messages, thinking=THINKING, **kwargs
    )


@pytest.mark.vcr("messages_thinking.yaml")
def test_thinking_block_is_in_the_outputs_with_its_signature(
    client: Any, messages: Any, only_span: Any
) -> None:
    message = think(client, messages)

    span = only_span()
    thinking, text = span.outputs["content"]
    assert thinking == {
        "type": "thinking",
        "thinking": THINKING_TEXT,
        "signature": message.content[0].signature,
    }
    assert thinking["signature"]  # an opaque, non-empty string the next turn must send back
    assert text == {"type": "text", "text": "Hello!"}
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == usage(14, 42)
    assert span.inputs["thinking"] == THINKING


@pytest.mark.vcr("messages_stream_thinking.yaml")
def test_streamed_thinking_is_rebuilt_from_thinking_and_signature_deltas(
    client: Any, messages: Any, only_span: Any
) -> None:
    events = list(think(client, messages, stream=True))

    signatures = [
        event.delta.signature
        for event in events
        if event.type == "content_block_delta" and event.delta.type == "signature_delta"
    ]
    span = only_span()
    assert span.outputs["content"] == [
        # The block starts with empty thinking and signature; the deltas fill both in.
        {"type": "thinking", "thinking": THINKING_TEXT, "signature": signatures[0]},
        {"type": "text", "text": "Hello!"},
    ]
    assert span.outputs["stop_reason"] == "end_turn"
    # message_start says 3 out; message_delta's cumulative count (thinking included) says 42.
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == usage(14, 42)
    assert span.outputs["usage"]["output_tokens"] == 42


@pytest.mark.vcr("messages_stream_thinking.yaml")
def test_streamed_thinking_matches_the_sdk_final_message(
    client: Any, messages: Any, only_span: Any
) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=THINKING_MAX_TOKENS, messages=messages, thinking=THINKING
    ) as stream:
        message = stream.get_final_message()

    span = only_span()
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert span.outputs["content"] == [
        block.model_dump(mode="json", exclude_none=True) for block in message.content
    ]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == usage(14, 42)


@pytest.mark.vcr("messages_citations.yaml")
def test_citations_are_in_the_outputs(client: Any, citation_messages: Any, only_span: Any) -> None:
    client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=citation_messages)

    span = only_span()
    assert span.outputs["content"] == CITED_CONTENT
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == usage(610, 21)


@pytest.mark.vcr("messages_stream_citations.yaml")
def test_streamed_citations_are_collected_into_the_cited_block(
    client: Any, citation_messages: Any, only_span: Any
) -> None:
    list(
        client.messages.create(
            model=MODEL, max_tokens=MAX_TOKENS, messages=citation_messages, stream=True
        )
    )

    span = only_span()
    # Blocks without a citations_delta get no citations key: the API's block start had none.
    assert span.outputs["content"] == CITED_CONTENT
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == usage(610, 21)


@pytest.mark.vcr("messages_stream_citations.yaml")
def test_streamed_citations_match_the_sdk_final_message(
    client: Any, citation_messages: Any, only_span: Any
) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=MAX_TOKENS, messages=citation_messages
    ) as stream:
        message = stream.get_final_message()

    span = only_span()
    assert message.content[1].citations is not None
    assert span.outputs["content"] == [
        block.model_dump(mode="json", exclude_none=True) for block in message.content
    ]

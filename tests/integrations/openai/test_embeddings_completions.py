"""Embeddings (EMBEDDING spans) and legacy completions (LLM spans), streamed and not."""

from __future__ import annotations

from typing import Any

import pytest

from tracewire.tracing.constant import SpanAttributeKey

MATCH_BODY = ["method", "scheme", "host", "port", "path", "query", "body"]


@pytest.mark.vcr("embeddings.yaml")
def test_embeddings_become_an_embedding_span_with_input_usage_only(
    client: Any, last_trace: Any
) -> None:
    response = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])

    assert len(response.data) == 2
    (span,) = last_trace().data.spans
    assert span.name == "openai.embeddings.create"
    assert span.span_type == "EMBEDDING"
    assert span.inputs == {"model": "text-embedding-3-small", "input": ["hello", "world"]}
    # No output count is reported for embeddings, so none is recorded (total is what was sent).
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == {"input_tokens": 2, "total_tokens": 2}
    assert len(span.outputs["data"]) == 2


@pytest.mark.vcr("embeddings.yaml")
def test_embedding_outputs_are_the_vectors_the_caller_got_not_the_base64_body(
    client: Any, last_trace: Any
) -> None:
    response = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])

    (span,) = last_trace().data.spans
    assert span.outputs["data"][0]["embedding"] == response.data[0].embedding


@pytest.mark.vcr("completions_legacy.yaml")
def test_legacy_completion_becomes_an_llm_span(client: Any, last_trace: Any) -> None:
    response = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hello.", max_tokens=5
    )

    assert response.choices[0].text == "\n\nHello!"
    (span,) = last_trace().data.spans
    assert span.name == "openai.completions.create"
    assert span.span_type == "LLM"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
    }


@pytest.mark.vcr("completions_legacy_stream.yaml", match_on=MATCH_BODY)
def test_legacy_completion_stream_gets_usage_and_joined_text(client: Any, last_trace: Any) -> None:
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Say hello.", max_tokens=5, stream=True
        )
    )

    assert all(chunk.choices for chunk in chunks)  # the usage chunk tracewire asked for is hidden
    span = last_trace().data.spans[0]
    assert span.outputs["object"] == "text_completion"
    assert span.outputs["choices"] == [{"index": 0, "text": "\n\nHello!", "finish_reason": "stop"}]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 7


@pytest.mark.asyncio
@pytest.mark.vcr("embeddings.yaml")
async def test_async_embeddings_are_traced(async_client: Any, last_trace: Any) -> None:
    await async_client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])

    assert last_trace().data.spans[0].span_type == "EMBEDDING"

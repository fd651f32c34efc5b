"""Azure OpenAI clients go through the same resource classes, with Azure's own stream shape."""

from __future__ import annotations

from typing import Any

import pytest

from tracewire.tracing.constant import SpanAttributeKey


@pytest.mark.vcr("azure_chat_completion.yaml")
def test_azure_chat_completion_records_the_deployed_model_and_usage(
    azure_client: Any, messages: Any, last_trace: Any
) -> None:
    azure_client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.MODEL] == "gpt-4o-mini-2024-07-18"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21
    assert "prompt_filter_results" in span.outputs


@pytest.mark.vcr("azure_chat_stream.yaml")
def test_azure_stream_keeps_its_filter_chunk_and_records_usage(
    azure_client: Any, messages: Any, last_trace: Any
) -> None:
    chunks = list(
        azure_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert chunks[0].choices == []  # Azure's prompt-filter chunk reaches the caller untouched
    assert chunks[-1].usage is not None  # and so does the usage chunk the caller asked for
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 22
    assert span.outputs["id"].startswith("chatcmpl-")  # not the filter chunk's empty id
    assert span.attributes[SpanAttributeKey.MODEL] == "gpt-4o-mini-2024-07-18"


@pytest.mark.asyncio
@pytest.mark.vcr("azure_chat_completion.yaml")
async def test_async_azure_chat_completion_is_traced(
    async_azure_client: Any, messages: Any, last_trace: Any
) -> None:
    await async_azure_client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21

"""Chat Completions streams: rebuilt outputs, usage with and without ``stream_usage``, every way to end."""

from __future__ import annotations

from typing import Any

import pytest

import tracewire
from tracewire.tracing.constant import SpanAttributeKey

# Matching the JSON body too proves what tracewire added to the request, or that it added nothing.
MATCH_BODY = ["method", "scheme", "host", "port", "path", "query", "body"]
USAGE_19_3 = {
    "input_tokens": 19,
    "output_tokens": 3,
    "total_tokens": 22,
    "cache_read_input_tokens": 0,
    "reasoning_tokens": 0,
}


def texts(chunks: list[Any]) -> list[Any]:
    return [chunk.choices[0].delta.content for chunk in chunks]


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_stream_to_openai_gets_usage_without_user_changes(
    client: Any, messages: Any, last_trace: Any
) -> None:
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    )

    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == USAGE_19_3
    assert span.inputs == {"model": "gpt-4o-mini", "messages": messages, "stream": True}
    assert len(chunks) == 5  # role, three content chunks, finish: the usage chunk is not passed on


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_inputs_keep_the_callers_stream_options_not_the_usage_request_added(
    client: Any, messages: Any, last_trace: Any
) -> None:
    tracewire.openai.autolog(stream_usage=True)

    list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True, stream_options={}
        )
    )

    span = last_trace().data.spans[0]
    assert span.inputs["stream_options"] == {}  # the request sent {"include_usage": true}
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == USAGE_19_3


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_added_usage_chunk_never_reaches_code_reading_choices(client: Any, messages: Any) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)

    assert texts(list(stream)) == ["", "Hello", " there", "!", None]  # choices[0] on every chunk


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_stream_output_is_the_rebuilt_completion(
    client: Any, messages: Any, last_trace: Any
) -> None:
    list(client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))

    span = last_trace().data.spans[0]
    outputs = span.outputs
    assert outputs["object"] == "chat.completion"
    assert outputs["id"].startswith("chatcmpl-")
    assert outputs["model"] == "gpt-4o-mini-2024-07-18"
    assert outputs["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there!"},
            "finish_reason": "stop",
        }
    ]
    assert outputs["usage"]["total_tokens"] == 22
    assert span.attributes["tracewire.stream.end"] == "exhausted"
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


def _read_stream_asking_for_usage(client: Any, messages: Any) -> list[Any]:
    """Every chunk of a stream whose caller set ``include_usage`` themselves."""
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    return list(stream)


@pytest.mark.vcr("chat_stream_with_usage.yaml", match_on=MATCH_BODY)
def test_usage_chunk_the_caller_asked_for_is_passed_on(
    client: Any, messages: Any, last_trace: Any
) -> None:
    chunks = _read_stream_asking_for_usage(client, messages)

    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 22
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE] == USAGE_19_3


@pytest.mark.vcr("chat_stream_with_usage.yaml", match_on=MATCH_BODY)
def test_changing_the_usage_chunk_after_the_stream_does_not_change_what_was_recorded(
    client: Any, messages: Any, last_trace: Any
) -> None:
    chunks = _read_stream_asking_for_usage(client, messages)
    chunks[-1].usage.prompt_tokens = 1_000

    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == USAGE_19_3
    assert span.outputs["usage"]["prompt_tokens"] == 19


@pytest.mark.vcr("chat_stream_without_usage.yaml", match_on=MATCH_BODY)
def test_stream_usage_false_leaves_the_request_alone_and_records_no_usage(
    client: Any, messages: Any, last_trace: Any
) -> None:
    tracewire.openai.autolog(stream_usage=False)

    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    )

    span = last_trace().data.spans[0]
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes  # never a made-up 0
    assert span.outputs["choices"][0]["message"]["content"] == "Hello!"
    assert all(chunk.usage is None for chunk in chunks)


@pytest.mark.vcr("compat_chat_stream.yaml", match_on=MATCH_BODY)
def test_default_leaves_other_servers_requests_alone(
    compat_client: Any, messages: Any, last_trace: Any
) -> None:
    list(
        compat_client.chat.completions.create(
            model="Qwen/Qwen2.5-0.5B-Instruct", messages=messages, stream=True
        )
    )

    span = last_trace().data.spans[0]
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes
    assert span.attributes[SpanAttributeKey.MODEL] == "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.mark.vcr("compat_stream_usage_last_chunk.yaml", match_on=MATCH_BODY)
def test_stream_usage_true_asks_any_server_and_reads_usage_from_the_last_content_chunk(
    compat_client: Any, messages: Any, last_trace: Any
) -> None:
    tracewire.openai.autolog(stream_usage=True)

    chunks = list(
        compat_client.chat.completions.create(
            model="Qwen/Qwen2.5-0.5B-Instruct", messages=messages, stream=True
        )
    )

    assert chunks[-1].choices[0].finish_reason == "stop"  # a content chunk: passed on, not hidden
    usage = last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]
    assert usage == {"input_tokens": 12, "output_tokens": 4, "total_tokens": 16}


@pytest.mark.vcr("chat_stream_tool_calls.yaml", match_on=MATCH_BODY)
def test_parallel_tool_call_deltas_are_merged_by_index(client: Any, last_trace: Any) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
    list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Weather in Paris and Tokyo?"}],
            tools=[tool],
            stream=True,
        )
    )

    span = last_trace().data.spans[0]
    (choice,) = span.outputs["choices"]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["get_weather", "get_weather"]
    assert [call["function"]["arguments"] for call in calls] == [
        '{"city": "Paris"}',
        '{"city": "Tokyo"}',
    ]
    assert all(call["id"].startswith("call_") for call in calls)
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 107
    assert span.attributes[SpanAttributeKey.CHAT_TOOLS] == [tool]


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_early_break_keeps_what_arrived_and_says_so(
    client: Any, messages: Any, last_trace: Any
) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    for chunk in stream:
        if chunk.choices[0].delta.content == "Hello":
            break
    stream.close()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "closed"
    assert span.outputs["choices"][0]["message"]["content"] == "Hello"
    assert span.outputs["choices"][0]["finish_reason"] is None
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes  # the usage chunk never arrived


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_stream_left_by_with_ends_its_span_once(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True
    ) as stream:
        next(iter(stream))

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "exited"
    assert len(last_trace().data.spans) == 1


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_never_iterated_stream_ends_when_garbage_collected(
    client: Any, messages: Any, collect_garbage: Any, last_trace: Any
) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    del stream
    collect_garbage()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "garbage_collected"
    assert span.outputs["choices"] == []


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_stream_helper_is_one_span_with_usage(client: Any, messages: Any, last_trace: Any) -> None:
    stream_helper = getattr(client.chat.completions, "stream", None) or (
        client.beta.chat.completions.stream
    )
    with stream_helper(model="gpt-4o-mini", messages=messages) as stream:
        completion = stream.get_final_completion()

    assert completion.choices[0].message.content == "Hello there!"
    (span,) = last_trace().data.spans
    assert span.name == "openai.chat.completions.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == USAGE_19_3


@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
def test_stream_helper_left_early_ends_its_span_at_exit(
    client: Any, messages: Any, last_trace: Any
) -> None:
    stream_helper = getattr(client.chat.completions, "stream", None) or (
        client.beta.chat.completions.stream
    )
    with stream_helper(model="gpt-4o-mini", messages=messages) as stream:
        for _event in stream:
            break

    assert last_trace().data.spans[0].attributes["tracewire.stream.end"] == "closed"


@pytest.mark.asyncio
@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
async def test_async_stream_gets_usage_and_hides_the_added_chunk(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    stream = await async_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True
    )
    chunks = [chunk async for chunk in stream]

    assert texts(chunks) == ["", "Hello", " there", "!", None]
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == USAGE_19_3
    assert span.outputs["choices"][0]["message"]["content"] == "Hello there!"


@pytest.mark.asyncio
@pytest.mark.vcr("chat_stream_default_usage.yaml", match_on=MATCH_BODY)
async def test_async_stream_closed_early_ends_its_span(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    stream = await async_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True
    )
    async for _chunk in stream:
        break
    await stream.close()

    assert last_trace().data.spans[0].attributes["tracewire.stream.end"] == "closed"

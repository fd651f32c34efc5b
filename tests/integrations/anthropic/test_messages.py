"""``messages.create`` without streaming: span shape, inputs, outputs, usage, tools and errors."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

import tracewire
from tracewire._sdk_calls import ProviderCall
from tracewire.entities import SpanStatusCode, SpanType
from tracewire.tracing.constant import SpanAttributeKey

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64


def create(client: Any, **kwargs: Any) -> Any:
    return client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, **kwargs)


@pytest.mark.vcr("messages_create.yaml")
def test_create_is_a_chat_model_span_named_after_the_call(
    client: Any, messages: Any, last_trace: Any
) -> None:
    create(client, messages=messages, system="You are terse.")

    (span,) = last_trace().data.spans
    assert span.name == "anthropic.messages.create"
    assert span.span_type == SpanType.CHAT_MODEL
    assert span.status.status_code == SpanStatusCode.OK


@pytest.mark.vcr("messages_create.yaml")
def test_create_returns_the_sdk_message_unchanged(client: Any, messages: Any) -> None:
    message = create(client, messages=messages, system="You are terse.")

    assert type(message) is anthropic.types.Message
    assert message.content[0].text == "Hello!"


@pytest.mark.vcr("messages_create.yaml")
def test_inputs_are_the_request_arguments_without_sdk_sentinels(
    client: Any, messages: Any, last_trace: Any
) -> None:
    create(client, messages=messages, system="You are terse.", metadata=anthropic.NOT_GIVEN)

    span = last_trace().data.spans[0]
    assert span.inputs == {
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "messages": messages,
        "system": "You are terse.",
    }


@pytest.mark.vcr("messages_create.yaml")
def test_inputs_are_the_messages_as_sent_not_as_changed_after_the_call(
    client: Any, messages: Any, last_trace: Any
) -> None:
    sent = json.loads(json.dumps(messages))
    message = create(client, messages=messages)
    messages.append({"role": "assistant", "content": message.content})  # the usual next turn
    messages[0]["content"] = "changed"

    assert last_trace().data.spans[0].inputs["messages"] == sent


def test_a_call_the_sdk_rejects_before_sending_records_its_arguments(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with pytest.raises(TypeError) as raised:
        client.messages.create(model=MODEL, messages=messages)  # no max_tokens: nothing is sent

    span = last_trace().data.spans[0]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.message"] == str(raised.value)
    assert span.inputs == {"model": MODEL, "messages": messages}


@pytest.mark.vcr("messages_create.yaml")
def test_credential_headers_never_reach_the_inputs(
    client: Any, messages: Any, last_trace: Any
) -> None:
    create(
        client,
        messages=messages,
        system="You are terse.",
        extra_headers={"X-Api-Key": "sk-ant-secret", "anthropic-beta": "tools-2024-04-04"},
    )

    span = last_trace().data.spans[0]
    assert span.inputs["extra_headers"] == {"anthropic-beta": "tools-2024-04-04"}
    assert "sk-ant-secret" not in json.dumps(span.to_dict())


@pytest.mark.vcr("messages_create.yaml")
def test_outputs_are_the_message_json(client: Any, messages: Any, last_trace: Any) -> None:
    message = create(client, messages=messages, system="You are terse.")

    outputs = last_trace().data.spans[0].outputs
    assert outputs == message.model_dump(mode="json", exclude_unset=True)
    assert outputs["content"] == [{"type": "text", "text": "Hello!"}]


@pytest.mark.vcr("messages_create.yaml")
def test_outputs_are_the_body_the_api_sent(client: Any, messages: Any, last_trace: Any) -> None:
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse."
    )

    assert last_trace().data.spans[0].outputs == json.loads(raw.http_response.text)


@pytest.mark.vcr("messages_create.yaml")
def test_changing_the_message_afterwards_does_not_change_what_was_recorded(
    client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    message = create(client, messages=messages, system="You are terse.")
    message.usage.input_tokens = 1_000
    message.model = "changed"
    message.stop_reason = "max_tokens"
    message.content[0].text = "changed"

    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert span.attributes[SpanAttributeKey.MODEL] == MODEL
    assert span.attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert span.outputs["content"][0]["text"] == "Hello!"


@pytest.mark.vcr("messages_create.yaml")
def test_usage_model_provider_format_and_stop_reason_are_recorded(
    client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    create(client, messages=messages, system="You are terse.")

    attributes = last_trace().data.spans[0].attributes
    assert attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage
    assert attributes[SpanAttributeKey.MODEL] == MODEL
    assert attributes[SpanAttributeKey.MODEL_PROVIDER] == "anthropic"
    assert attributes[SpanAttributeKey.MESSAGE_FORMAT] == "anthropic"
    assert attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attributes["max_tokens"] == MAX_TOKENS


@pytest.mark.vcr("messages_create.yaml")
def test_trace_token_usage_counts_the_call_once(
    client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    create(client, messages=messages, system="You are terse.")

    assert last_trace().info.token_usage == hello_usage


@pytest.mark.vcr("messages_tool_use.yaml")
def test_tools_are_recorded_in_the_openai_function_shape(
    client: Any,
    last_trace: Any,
    weather_messages: list[dict[str, str]],
    weather_tool: dict[str, Any],
) -> None:
    create(client, messages=weather_messages, tools=[weather_tool])

    attributes = last_trace().data.spans[0].attributes
    assert attributes[SpanAttributeKey.CHAT_TOOLS] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather in a city.",
                "parameters": weather_tool["input_schema"],
            },
        }
    ]


@pytest.mark.vcr("messages_tool_use.yaml")
def test_tool_use_blocks_are_visible_in_outputs(
    client: Any,
    last_trace: Any,
    weather_messages: list[dict[str, str]],
    weather_tool: dict[str, Any],
) -> None:
    create(client, messages=weather_messages, tools=[weather_tool])

    span = last_trace().data.spans[0]
    tool_use = span.outputs["content"][1]
    assert tool_use["type"] == "tool_use"
    assert tool_use["name"] == "get_weather"
    assert tool_use["input"] == {"city": "Paris"}
    assert span.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]


@pytest.mark.parametrize(
    ("cache_read", "cache_written"),
    [
        pytest.param(0, 1800, marks=pytest.mark.vcr("messages_prompt_caching_write.yaml")),
        pytest.param(1800, 0, marks=pytest.mark.vcr("messages_prompt_caching_read.yaml")),
    ],
    ids=["write", "read"],
)
def test_cache_reads_and_writes_count_as_input_and_keep_their_own_keys(
    client: Any,
    messages: Any,
    last_trace: Any,
    cached_system: list[dict[str, Any]],
    cache_read: int,
    cache_written: int,
) -> None:
    create(client, messages=messages, system=cached_system)

    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE] == {
        "input_tokens": 12 + 1800,
        "output_tokens": 5,
        "total_tokens": 12 + 1800 + 5,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_written,
    }


@pytest.mark.vcr("messages_error_429.yaml")
def test_rate_limit_error_reaches_the_caller_and_marks_the_span(
    client: Any, messages: Any, last_trace: Any, assert_failed_call: Any
) -> None:
    with pytest.raises(anthropic.RateLimitError) as raised:
        create(client, messages=messages)

    assert type(raised.value).__name__ == "RateLimitError"
    assert_failed_call(last_trace().data.spans[0], raised.value)


@pytest.mark.vcr("messages_error_429.yaml")
def test_a_refused_call_records_the_request_the_error_carries(
    client: Any, messages: Any, last_trace: Any, request_bodies_after: Any
) -> None:
    bodies = request_bodies_after(ProviderCall, "failed")
    with pytest.raises(anthropic.RateLimitError) as raised:
        create(client, messages=messages)
    messages.clear()

    assert bodies == [raised.value.request.content]
    assert last_trace().data.spans[0].inputs["messages"] == [
        {"role": "user", "content": "Say hello."}
    ]


@pytest.mark.vcr("messages_error_529.yaml")
def test_overloaded_error_reaches_the_caller_unchanged(
    client: Any, messages: Any, last_trace: Any, assert_failed_call: Any
) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        create(client, messages=messages)

    assert raised.value.status_code == 529
    assert_failed_call(last_trace().data.spans[0], raised.value)


@pytest.mark.vcr("messages_error_529.yaml")
def test_the_exception_object_is_the_one_the_sdk_raised(
    monkeypatch: pytest.MonkeyPatch, messages: Any
) -> None:
    seen: list[BaseException] = []
    original = anthropic.Anthropic._make_status_error

    def remember(self: Any, *args: Any, **kwargs: Any) -> Any:
        error = original(self, *args, **kwargs)
        seen.append(error)
        return error

    monkeypatch.setattr(anthropic.Anthropic, "_make_status_error", remember)
    tracewire.anthropic.autolog()
    client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)

    with pytest.raises(anthropic.APIStatusError) as raised:
        create(client, messages=messages)

    assert seen == [raised.value]
    assert seen[0] is raised.value


@pytest.mark.asyncio
@pytest.mark.vcr("messages_create.yaml")
async def test_async_create_is_traced_with_usage(
    async_client: Any, messages: Any, last_trace: Any, hello_usage: dict[str, int]
) -> None:
    message = await async_client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse."
    )

    assert message.content[0].text == "Hello!"
    (span,) = last_trace().data.spans
    assert span.name == "anthropic.messages.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == hello_usage


@pytest.mark.asyncio
@pytest.mark.vcr("messages_tool_use.yaml")
async def test_async_tool_use_is_traced(
    async_client: Any,
    last_trace: Any,
    weather_messages: list[dict[str, str]],
    weather_tool: dict[str, Any],
) -> None:
    await async_client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=weather_messages, tools=[weather_tool]
    )

    span = last_trace().data.spans[0]
    assert span.outputs["content"][1]["input"] == {"city": "Paris"}
    assert span.attributes[SpanAttributeKey.CHAT_TOOLS][0]["function"]["name"] == "get_weather"


@pytest.mark.asyncio
@pytest.mark.vcr("messages_error_429.yaml")
async def test_async_error_reaches_the_caller_and_marks_the_span(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    with pytest.raises(anthropic.RateLimitError):
        await async_client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=messages)

    assert last_trace().data.spans[0].status.status_code == SpanStatusCode.ERROR

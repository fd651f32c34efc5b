"""Chat Completions (non-stream): span shape, token usage, parameters, tools, parse, errors, async."""

from __future__ import annotations

import inspect
import json
from typing import Any

import openai
import pydantic
import pytest

import tracewire
from tracewire._sdk_calls import ProviderCall
from tracewire.entities import SpanStatusCode
from tracewire.tracing.constant import SpanAttributeKey


class City(pydantic.BaseModel):
    name: str
    country: str


@pytest.mark.vcr("chat_completion.yaml")
def test_chat_completion_outputs_are_the_body_the_api_sent(
    client: Any, messages: Any, last_trace: Any
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
    sent = json.loads(raw.http_response.text)

    (span,) = last_trace().data.spans
    assert span.outputs == sent


@pytest.mark.vcr("chat_completion.yaml")
def test_chat_completion_becomes_a_chat_model_span(
    client: Any, messages: Any, last_trace: Any
) -> None:
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, temperature=0.2, max_tokens=20
    )

    assert response.choices[0].message.content == "Hello!"
    (span,) = last_trace().data.spans
    assert span.name == "openai.chat.completions.create"
    assert span.span_type == "CHAT_MODEL"
    assert span.status.status_code == SpanStatusCode.OK
    assert span.inputs == {
        "model": "gpt-4o-mini",
        "messages": messages,
        "temperature": 0.2,
        "max_tokens": 20,
    }
    assert span.outputs["choices"][0]["message"]["content"] == "Hello!"
    assert span.outputs["id"] == response.id


@pytest.mark.vcr("chat_completion.yaml")
def test_inputs_are_the_messages_as_sent_not_as_changed_after_the_call(
    client: Any, messages: Any, last_trace: Any
) -> None:
    sent = json.loads(json.dumps(messages))
    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    messages.append(response.choices[0].message)  # the usual next turn
    messages[0]["content"] = "changed"

    assert last_trace().data.spans[0].inputs["messages"] == sent


@pytest.mark.vcr("chat_completion.yaml")
def test_sdk_models_in_the_messages_are_recorded_as_the_json_sent(
    client: Any, messages: Any, last_trace: Any
) -> None:
    earlier = openai.types.chat.ChatCompletionMessage(role="assistant", content="Earlier answer")
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[*messages, earlier, {"role": "user", "content": "Again"}]
    )

    recorded = last_trace().data.spans[0].inputs["messages"]
    assert recorded[-2] == earlier.model_dump(exclude_unset=True)
    assert recorded[-1] == {"role": "user", "content": "Again"}


@pytest.mark.vcr("chat_completion.yaml")
def test_a_generator_of_messages_reaches_the_api_and_is_recorded(
    client: Any, messages: Any, last_trace: Any
) -> None:
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=(message for message in messages)
    )

    assert response.choices[0].message.content == "Hello!"
    assert last_trace().data.spans[0].inputs["messages"] == messages


@pytest.mark.vcr("chat_completion.yaml")
def test_chat_completion_records_usage_model_provider_and_format(
    client: Any, messages: Any, last_trace: Any
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0.2)

    trace = last_trace()
    attributes = trace.data.spans[0].attributes
    assert attributes[SpanAttributeKey.CHAT_USAGE] == {
        "input_tokens": 19,
        "output_tokens": 2,
        "total_tokens": 21,
        "cache_read_input_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert attributes[SpanAttributeKey.MODEL] == "gpt-4o-mini-2024-07-18"  # the model that answered
    assert attributes[SpanAttributeKey.MODEL_PROVIDER] == "openai"
    assert attributes[SpanAttributeKey.MESSAGE_FORMAT] == "openai"
    assert trace.info.token_usage["total_tokens"] == 21


@pytest.mark.vcr("chat_completion.yaml")
def test_changing_the_response_afterwards_does_not_change_what_was_recorded(
    client: Any, messages: Any, last_trace: Any
) -> None:
    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    response.usage.prompt_tokens = 1_000
    response.model = "changed"
    response.choices[0].message.content = "changed"

    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["input_tokens"] == 19
    assert span.attributes[SpanAttributeKey.MODEL] == "gpt-4o-mini-2024-07-18"
    assert span.outputs["choices"][0]["message"]["content"] == "Hello!"


@pytest.mark.vcr("chat_completion.yaml")
def test_request_parameters_become_attributes_but_messages_do_not(
    client: Any, messages: Any, last_trace: Any
) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, temperature=0.2, max_tokens=20
    )

    attributes = last_trace().data.spans[0].attributes
    assert attributes["model"] == "gpt-4o-mini"
    assert attributes["temperature"] == 0.2
    assert attributes["max_tokens"] == 20
    assert "messages" not in attributes


@pytest.mark.vcr("chat_completion.yaml")
def test_sdk_sentinels_and_credential_headers_are_not_recorded(
    client: Any, messages: Any, last_trace: Any
) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        temperature=openai.NOT_GIVEN,
        extra_headers={"Authorization": "Bearer sk-secret", "X-Trace": "on", "api-key": "k"},
    )

    inputs = last_trace().data.spans[0].inputs
    assert "temperature" not in inputs
    assert inputs["extra_headers"] == {"X-Trace": "on"}
    assert "sk-secret" not in str(inputs)


@pytest.mark.vcr("chat_completion.yaml")
def test_tools_are_recorded_as_mlflow_chat_tools(
    client: Any, messages: Any, last_trace: Any
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[tool])

    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_TOOLS] == [tool]


@pytest.mark.vcr("chat_prompt_caching.yaml")
def test_cached_prompt_tokens_become_cache_read_input_tokens(
    client: Any, messages: Any, last_trace: Any
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    usage = last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]
    assert usage["input_tokens"] == 2006  # prompt_tokens already includes the cached ones
    assert usage["cache_read_input_tokens"] == 1920
    assert usage["total_tokens"] == 2018


@pytest.mark.vcr("chat_reasoning.yaml")
def test_reasoning_tokens_are_kept(client: Any, last_trace: Any) -> None:
    reasoning = {"reasoning_effort": "low", "max_completion_tokens": 300}
    if "reasoning_effort" not in inspect.signature(client.chat.completions.create).parameters:
        reasoning = {"extra_body": reasoning}  # older SDKs lack the arguments, not the API
    client.chat.completions.create(
        model="o4-mini", messages=[{"role": "user", "content": "Say hello."}], **reasoning
    )

    span = last_trace().data.spans[0]
    usage = span.attributes[SpanAttributeKey.CHAT_USAGE]
    assert usage["output_tokens"] == 150
    assert usage["reasoning_tokens"] == 128
    assert span.attributes[SpanAttributeKey.MODEL] == "o4-mini-2025-04-16"


@pytest.mark.vcr("chat_parse.yaml")
def test_parse_is_traced_once_with_the_parsed_output(
    client: Any, parse_chat: Any, last_trace: Any
) -> None:
    completion = parse_chat(client)(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Paris facts"}],
        response_format=City,
    )

    assert completion.choices[0].message.parsed == City(name="Paris", country="France")
    (span,) = last_trace().data.spans  # not a parse span around a create span
    assert span.name == "openai.chat.completions.parse"
    assert span.inputs["response_format"] == "City"
    assert span.outputs["choices"][0]["message"]["parsed"] == {"name": "Paris", "country": "France"}
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 70


@pytest.mark.vcr("chat_error_429.yaml")
def test_rate_limit_error_reaches_the_caller_and_marks_the_span(
    client: Any, messages: Any, last_trace: Any, assert_failed_call: Any
) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert type(raised.value).__name__ == "RateLimitError"
    assert_failed_call(last_trace().data.spans[0], raised.value)


@pytest.mark.vcr("chat_error_429.yaml")
def test_a_refused_call_records_the_request_the_error_carries(
    client: Any, messages: Any, last_trace: Any, request_bodies_after: Any
) -> None:
    bodies = request_bodies_after(ProviderCall, "failed")
    sent = [dict(message) for message in messages]
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    messages.clear()

    assert bodies == [raised.value.request.content]
    assert last_trace().data.spans[0].inputs["messages"] == sent


@pytest.mark.vcr("chat_error_500.yaml")
def test_server_error_reaches_the_caller_unchanged(
    client: Any, messages: Any, last_trace: Any
) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert raised.value.status_code == 500
    assert last_trace().data.spans[0].status.status_code == SpanStatusCode.ERROR


@pytest.mark.vcr("chat_completion.yaml")
def test_call_inside_a_traced_function_is_its_child(
    client: Any, messages: Any, last_trace: Any
) -> None:
    @tracewire.trace
    def answer() -> str:
        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        return str(response.choices[0].message.content)

    assert answer() == "Hello!"
    trace = last_trace()
    root, child = trace.data.spans
    assert child.parent_id == root.span_id
    assert child.name == "openai.chat.completions.create"
    assert trace.info.token_usage == {
        "input_tokens": 19,
        "output_tokens": 2,
        "total_tokens": 21,
        "cache_read_input_tokens": 0,
        "reasoning_tokens": 0,
    }


@pytest.mark.asyncio
@pytest.mark.vcr("chat_completion.yaml")
async def test_async_chat_completion_is_traced(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    response = await async_client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert response.choices[0].message.content == "Hello!"
    span = last_trace().data.spans[0]
    assert span.name == "openai.chat.completions.create"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 21


@pytest.mark.asyncio
@pytest.mark.vcr("chat_error_429.yaml")
async def test_async_error_reaches_the_caller_and_marks_the_span(
    async_client: Any, messages: Any, last_trace: Any
) -> None:
    with pytest.raises(openai.RateLimitError):
        await async_client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert last_trace().data.spans[0].status.status_code == SpanStatusCode.ERROR


@pytest.mark.asyncio
@pytest.mark.vcr("chat_parse.yaml")
async def test_async_parse_is_traced(async_client: Any, parse_chat: Any, last_trace: Any) -> None:
    completion = await parse_chat(async_client)(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Paris facts"}],
        response_format=City,
    )

    assert completion.choices[0].message.parsed.country == "France"
    (span,) = last_trace().data.spans
    assert span.name == "openai.chat.completions.parse"


@pytest.mark.block_network(allowed_hosts=["127.0.0.1"])
def test_connection_error_reaches_the_caller_and_marks_the_span(
    autolog: None, messages: Any, last_trace: Any
) -> None:
    # Nothing listens on port 9 (discard) of the loopback: the connection is refused.
    client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)

    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    span = last_trace().data.spans[0]
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "APIConnectionError"

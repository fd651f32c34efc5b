"""Responses API: create, streams (raw and the ``.stream()`` helper), function calls, parse, async."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from tracewire.tracing.constant import SpanAttributeKey

pytestmark = pytest.mark.usefixtures("responses_api")


class City(pydantic.BaseModel):
    name: str
    country: str


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.mark.vcr("responses_create.yaml")
def test_response_becomes_a_chat_model_span_with_usage(client: Any, last_trace: Any) -> None:
    response = client.responses.create(
        model="gpt-4.1-mini", input="Say hello.", instructions="You are terse."
    )

    assert response.output_text == "Hello!"
    (span,) = last_trace().data.spans
    assert span.name == "openai.responses.create"
    assert span.span_type == "CHAT_MODEL"
    assert span.inputs == {
        "model": "gpt-4.1-mini",
        "input": "Say hello.",
        "instructions": "You are terse.",
    }
    assert span.outputs["output"][0]["content"][0]["text"] == "Hello!"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE] == {
        "input_tokens": 20,
        "output_tokens": 3,
        "total_tokens": 23,
        "cache_read_input_tokens": 4,
        "reasoning_tokens": 0,
    }
    assert span.attributes[SpanAttributeKey.MODEL] == "gpt-4.1-mini-2025-04-14"


@pytest.mark.vcr("responses_function_call.yaml")
def test_function_tools_are_recorded_in_the_chat_tool_shape(client: Any, last_trace: Any) -> None:
    response = client.responses.create(
        model="gpt-4.1-mini", input="Weather in Paris?", tools=[WEATHER_TOOL]
    )

    assert response.output[0].type == "function_call"
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_TOOLS] == [
        {
            "type": "function",
            "function": {
                key: WEATHER_TOOL[key] for key in ("name", "description", "parameters", "strict")
            },
        }
    ]
    (call,) = span.outputs["output"]
    assert call["type"] == "function_call"
    assert call["name"] == "get_weather"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 75


@pytest.mark.vcr("responses_stream.yaml")
def test_stream_records_the_completed_response_and_its_usage(client: Any, last_trace: Any) -> None:
    events = list(client.responses.create(model="gpt-4.1-mini", input="Say hello.", stream=True))

    assert events[-1].type == "response.completed"
    span = last_trace().data.spans[0]
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 23
    assert span.outputs["status"] == "completed"
    assert span.outputs["output"][0]["content"][0]["text"] == "Hello!"
    assert span.attributes["tracewire.stream.end"] == "exhausted"


@pytest.mark.vcr("responses_stream.yaml")
def test_stream_broken_off_keeps_the_text_that_arrived(client: Any, last_trace: Any) -> None:
    stream = client.responses.create(model="gpt-4.1-mini", input="Say hello.", stream=True)
    for event in stream:
        if event.type == "response.output_text.delta":
            break
    stream.close()

    span = last_trace().data.spans[0]
    assert span.attributes["tracewire.stream.end"] == "closed"
    assert span.outputs["status"] == "incomplete"
    assert span.outputs["output_text"] == "Hel"
    assert SpanAttributeKey.CHAT_USAGE not in span.attributes


@pytest.mark.vcr("responses_stream.yaml")
def test_stream_helper_is_one_span_with_usage(client: Any, last_trace: Any) -> None:
    with client.responses.stream(model="gpt-4.1-mini", input="Say hello.") as stream:
        final = stream.get_final_response()

    assert final.output_text == "Hello!"
    (span,) = last_trace().data.spans
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 23


@pytest.mark.vcr("responses_parse.yaml")
def test_parse_records_the_parsed_output(client: Any, last_trace: Any) -> None:
    response = client.responses.parse(model="gpt-4.1-mini", input="Paris facts", text_format=City)

    assert response.output_parsed == City(name="Paris", country="France")
    (span,) = last_trace().data.spans
    assert span.name == "openai.responses.parse"
    assert span.inputs["text_format"] == "City"
    assert span.attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 82


@pytest.mark.asyncio
@pytest.mark.vcr("responses_create.yaml")
async def test_async_response_is_traced(async_client: Any, last_trace: Any) -> None:
    response = await async_client.responses.create(
        model="gpt-4.1-mini", input="Say hello.", instructions="You are terse."
    )

    assert response.output_text == "Hello!"
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 23


@pytest.mark.asyncio
@pytest.mark.vcr("responses_stream.yaml")
async def test_async_stream_records_usage(async_client: Any, last_trace: Any) -> None:
    stream = await async_client.responses.create(
        model="gpt-4.1-mini", input="Say hello.", stream=True
    )
    events = [event async for event in stream]

    assert events[-1].type == "response.completed"
    assert last_trace().data.spans[0].attributes[SpanAttributeKey.CHAT_USAGE]["total_tokens"] == 23

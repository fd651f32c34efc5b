"""Rebuilding an OpenAI stream's result from its events, and the recorder for streams keeping none."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from openai.types.chat import ChatCompletionChunk

import tracewire
from tracewire.entities import LiveSpan, Span
from tracewire.openai._streams import (
    EventStreamRecorder,
    chat_attributes,
    completion_attributes,
    responses_attributes,
)
from tracewire.tracing.constant import SpanAttributeKey

OUTPUTS = SpanAttributeKey.OUTPUTS
USAGE = SpanAttributeKey.CHAT_USAGE
MODEL = SpanAttributeKey.MODEL

# A stream without an event decoder for the recorder to stand in for: it records the items.
UNDECODED_STREAM = object()


def decoded_stream() -> SimpleNamespace:
    """A stream that reads its events through a decoder, for the recorder to stand in for."""
    return SimpleNamespace(_decoder=SimpleNamespace())


class ServerSentEvent:
    """What a ``KeptEventsRecorder`` keeps: the event, with the ``data`` the server sent."""

    def __init__(self, data: Any) -> None:
        self.data = data if isinstance(data, str) else json.dumps(data)


def chunk(choices: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1763700000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": choices,
        **fields,
    }


def delta(index: int, content: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": {"content": content}, "finish_reason": finish_reason}


def test_choices_of_a_stream_with_n_above_one_are_rebuilt_in_index_order() -> None:
    events = [
        ServerSentEvent(chunk([delta(1, "B1")])),
        ServerSentEvent(chunk([delta(0, "A1")])),
        ServerSentEvent(chunk([delta(1, "B2", "stop"), delta(0, "A2", "length")])),
        ServerSentEvent("[DONE]"),
    ]

    outputs = chat_attributes(events, "gpt-4o-mini")[OUTPUTS]

    assert [
        (c["index"], c["message"]["content"], c["finish_reason"]) for c in outputs["choices"]
    ] == [
        (0, "A1A2", "length"),
        (1, "B1B2", "stop"),
    ]


def test_a_prompt_filter_chunk_without_an_id_does_not_name_the_completion() -> None:
    # Azure's first chunk: no id, no model, no choices, the prompt's filter results.
    azure_first = {"id": "", "model": "", "created": 0, "choices": [], "prompt_filter_results": []}

    attributes = chat_attributes(
        [ServerSentEvent(azure_first), ServerSentEvent(chunk([delta(0, "Hi", "stop")]))], "gpt-4o"
    )

    assert attributes[OUTPUTS]["id"] == "chatcmpl-1"
    assert attributes[MODEL] == "gpt-4o-mini-2024-07-18"


def test_a_stream_without_usage_records_none() -> None:
    attributes = chat_attributes([ServerSentEvent(chunk([delta(0, "Hi", "stop")]))], "gpt-4o")

    assert USAGE not in attributes
    assert "usage" not in attributes[OUTPUTS]


def test_legacy_completion_choices_are_joined_per_index() -> None:
    events = [
        ServerSentEvent(chunk([{"index": 0, "text": "Hel", "finish_reason": None}])),
        ServerSentEvent(chunk([{"index": 0, "text": "lo", "finish_reason": "stop"}])),
    ]

    outputs = completion_attributes(events, "gpt-3.5-turbo-instruct")[OUTPUTS]

    assert outputs["object"] == "text_completion"
    assert outputs["choices"] == [{"index": 0, "text": "Hello", "finish_reason": "stop"}]


def test_responses_stream_stopped_before_its_final_event_keeps_the_text() -> None:
    created = {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-4.1"}}
    events = [
        ServerSentEvent(created),
        ServerSentEvent({"type": "response.output_text.delta", "delta": "Par"}),
        ServerSentEvent({"type": "response.output_text.delta", "delta": "is"}),
    ]

    attributes = responses_attributes(events, "gpt-4.1-mini")

    assert attributes[OUTPUTS] == {
        "object": "response",
        "status": "incomplete",
        "id": "resp_1",
        "model": "gpt-4.1",
        "output_text": "Paris",
    }
    assert attributes[MODEL] == "gpt-4.1"


def recorded_span(recorder: EventStreamRecorder) -> Span:
    """End a real span through ``recorder``, as a stream proxy does, and return it as exported."""
    span = tracewire.start_span_no_context("openai.chat.completions.create")
    assert isinstance(span, LiveSpan)
    recorder.on_end(span, "exhausted", None)
    span.end()
    trace = tracewire.get_trace(span.trace_id)
    assert trace is not None
    (exported,) = trace.data.spans
    return exported


def test_a_stream_keeping_no_events_is_recorded_from_copies_of_its_chunks() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    chunks = [
        ChatCompletionChunk.model_validate(chunk([delta(0, "Hi", "stop")])),
        ChatCompletionChunk.model_validate(chunk([], usage=usage)),
    ]
    recorder = EventStreamRecorder(
        UNDECODED_STREAM, chat_attributes, request_model="gpt-4o", hide_usage_chunk=True
    )

    passed = [recorder.on_item(item) for item in chunks]
    chunks[0].choices[0].delta.content = "changed by the caller"
    span = recorded_span(recorder)

    assert passed == [True, False]  # the usage chunk tracewire asked for is hidden
    assert span.outputs["choices"][0]["message"]["content"] == "Hi"
    assert span.attributes[USAGE] == {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}


def test_a_stream_keeping_its_events_wants_no_items_unless_a_chunk_is_hidden() -> None:
    kept = EventStreamRecorder(decoded_stream(), chat_attributes, request_model="m")
    hiding = EventStreamRecorder(
        decoded_stream(), chat_attributes, request_model="m", hide_usage_chunk=True
    )

    assert kept.wants_items is False
    assert hiding.wants_items is True

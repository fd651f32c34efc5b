"""Anthropic usage to ``mlflow.chat.tokenUsage``, and stream usage rules, on the SDK's own types."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import RawMessageDeltaEvent, RawMessageStartEvent, Usage

import tracewire
from tracewire.anthropic._streams import MessageStreamRecorder
from tracewire.anthropic._usage import token_usage
from tracewire.entities import LiveSpan, Span

# A stream without an event decoder for the recorder to stand in for: it records the items.
UNDECODED_STREAM = object()


def test_input_tokens_include_cache_reads_and_writes() -> None:
    usage = Usage(
        input_tokens=10, output_tokens=4, cache_read_input_tokens=3, cache_creation_input_tokens=2
    )

    assert token_usage(usage) == {
        "input_tokens": 15,
        "output_tokens": 4,
        "total_tokens": 19,
        "cache_read_input_tokens": 3,
        "cache_creation_input_tokens": 2,
    }


def test_cache_counts_not_reported_stay_absent() -> None:
    assert token_usage({"input_tokens": 10, "output_tokens": 4}) == {
        "input_tokens": 10,
        "output_tokens": 4,
        "total_tokens": 14,
    }


@pytest.mark.parametrize("usage", [None, {}, {"cache_read_input_tokens": 5}, "n/a"])
def test_no_count_means_no_usage(usage: Any) -> None:
    assert token_usage(usage) is None


def test_bools_are_not_token_counts() -> None:
    assert token_usage({"input_tokens": True, "output_tokens": 2}) == {
        "output_tokens": 2,
        "total_tokens": 2,
    }


def recorded_span(recorder: MessageStreamRecorder, end: str) -> Span:
    """End a real span through ``recorder``, as a stream proxy does, and return it as exported."""
    span = tracewire.start_span_no_context("anthropic.messages.create")
    assert isinstance(span, LiveSpan)
    recorder.on_end(span, end, None)
    span.end()
    trace = tracewire.get_trace(span.trace_id)
    assert trace is not None
    (exported,) = trace.data.spans
    return exported


def start_event(output_tokens: int) -> RawMessageStartEvent:
    return RawMessageStartEvent.model_validate(
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-7",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 20,
                    "cache_read_input_tokens": 100,
                    "output_tokens": output_tokens,
                },
            },
        }
    )


def delta_event(output_tokens: int) -> RawMessageDeltaEvent:
    return RawMessageDeltaEvent.model_validate(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )


def test_stream_output_count_is_the_last_cumulative_delta_never_a_sum() -> None:
    recorder = MessageStreamRecorder(UNDECODED_STREAM, request_model="claude-opus-4-7")
    for event in (start_event(1), delta_event(7), delta_event(12)):
        recorder.on_item(event)
    span = recorded_span(recorder, "exhausted")

    assert span.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 120,
        "output_tokens": 12,
        "total_tokens": 132,
        "cache_read_input_tokens": 100,
    }
    assert span.outputs["usage"]["output_tokens"] == 12


def test_stream_without_message_start_keeps_the_request_model() -> None:
    recorder = MessageStreamRecorder(UNDECODED_STREAM, request_model="claude-opus-4-7")
    span = recorded_span(recorder, "closed")

    assert span.attributes["mlflow.llm.model"] == "claude-opus-4-7"
    assert "mlflow.chat.tokenUsage" not in span.attributes
    assert span.outputs == {"content": []}

"""Request and response previews."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import tracewire

LastTrace = Callable[[], tracewire.Trace]


def _trace_with(inputs: Any, outputs: Any) -> None:
    with tracewire.start_span("root") as span:
        span.set_inputs(inputs)
        span.set_outputs(outputs)


def test_plain_values_preview_as_json(last_trace: LastTrace) -> None:
    """Non-chat inputs and outputs preview as their JSON text."""
    _trace_with({"q": 1}, "answer")
    info = last_trace().info
    assert (info.request_preview, info.response_preview) == ('{"q": 1}', '"answer"')


def test_chat_completion_previews_show_the_messages(last_trace: LastTrace) -> None:
    """Chat inputs show the last user message; chat outputs the assistant message."""
    _trace_with(
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"},
                {"role": "user", "content": [{"type": "text", "text": "second question"}]},
            ]
        },
        {"choices": [{"message": {"role": "assistant", "content": "second answer"}}]},
    )
    info = last_trace().info
    assert (info.request_preview, info.response_preview) == ("second question", "second answer")


@pytest.mark.parametrize(
    ("inputs", "outputs", "expected"),
    [
        (
            {"input": "what is up"},
            {
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "sky"}],
                    }
                ]
            },
            ("what is up", "sky"),
        ),
        (
            {"input": [{"role": "user", "content": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
            ("hi", "hello"),
        ),
    ],
)
def test_responses_and_anthropic_shapes_are_chat_aware(
    inputs: Any, outputs: Any, expected: tuple[str, str], last_trace: LastTrace
) -> None:
    """Responses API and Anthropic message shapes preview as their text."""
    _trace_with(inputs, outputs)
    info = last_trace().info
    assert (info.request_preview, info.response_preview) == expected


def test_messages_without_a_user_message_preview_the_last_message(last_trace: LastTrace) -> None:
    """With no message of the wanted role, the last message is shown (MLflow's rule)."""
    _trace_with({"messages": [{"role": "system", "content": "only system"}]}, "x")
    assert last_trace().info.request_preview == "only system"


def test_content_parts_preview_the_first_text_part(last_trace: LastTrace) -> None:
    """A content list previews its first text part, skipping images."""
    parts = [{"type": "image_url", "image_url": {"url": "u"}}, {"type": "text", "text": "look"}]
    _trace_with({"messages": [{"role": "user", "content": parts}]}, "x")
    assert last_trace().info.request_preview == "look"


def test_long_previews_are_truncated_to_1000_chars(last_trace: LastTrace) -> None:
    """Previews longer than 1000 characters end with '...'."""
    _trace_with("x" * 5000, "y")
    preview = last_trace().info.request_preview
    assert preview is not None
    assert len(preview) == 1000
    assert preview.endswith("...")


def test_trace_metadata_holds_truncated_root_io(last_trace: LastTrace) -> None:
    """``mlflow.traceInputs``/``Outputs`` metadata hold the root I/O cut to 250 chars."""
    _trace_with("x" * 400, {"a": 1})
    metadata = last_trace().info.trace_metadata
    assert len(metadata["mlflow.traceInputs"]) == 250
    assert metadata["mlflow.traceOutputs"] == '{"a": 1}'

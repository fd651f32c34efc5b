"""Trace-level token totals: nested usage is counted once."""

from __future__ import annotations

from collections.abc import Callable

import tracewire
from tracewire.entities import SpanType
from tracewire.tracing.constant import SpanAttributeKey, TraceMetadataKey

LastTrace = Callable[[], tracewire.Trace]


def _llm(name: str, usage: dict[str, int]) -> None:
    with tracewire.start_span(name, span_type=SpanType.CHAT_MODEL) as span:
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, usage)


def test_sibling_llm_calls_are_summed(last_trace: LastTrace) -> None:
    """Two LLM spans under one root add up."""
    with tracewire.start_span("agent"):
        _llm("a", {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12})
        _llm("b", {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12})
    assert last_trace().info.token_usage == {
        "input_tokens": 15,
        "output_tokens": 9,
        "total_tokens": 24,
    }


def test_usage_nested_under_a_span_with_usage_counts_once(last_trace: LastTrace) -> None:
    """A provider span inside a framework span that already carries usage is not added again."""
    usage = {"input_tokens": 9, "output_tokens": 3, "total_tokens": 12}
    with tracewire.start_span("ChatOpenAI", span_type=SpanType.CHAT_MODEL) as wrapper:
        wrapper.set_attribute(SpanAttributeKey.CHAT_USAGE, usage)
        _llm("Completions", usage)
    assert last_trace().info.token_usage == usage


def test_cache_and_reasoning_keys_are_kept_when_reported(last_trace: LastTrace) -> None:
    """Optional keys appear in the total only when some span reported them."""
    with tracewire.start_span("root"):
        _llm(
            "a",
            {
                "input_tokens": 100,
                "output_tokens": 10,
                "total_tokens": 110,
                "cache_read_input_tokens": 80,
                "reasoning_tokens": 4,
            },
        )
        _llm("b", {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})
    assert last_trace().info.token_usage == {
        "input_tokens": 101,
        "output_tokens": 11,
        "total_tokens": 112,
        "cache_read_input_tokens": 80,
        "reasoning_tokens": 4,
    }


def test_missing_total_is_input_plus_output(last_trace: LastTrace) -> None:
    """A span reporting only input and output counts contributes their sum as total."""
    _llm("a", {"input_tokens": 4, "output_tokens": 6})
    assert last_trace().info.token_usage == {
        "input_tokens": 4,
        "output_tokens": 6,
        "total_tokens": 10,
    }


def test_no_usage_means_no_usage_metadata(last_trace: LastTrace) -> None:
    """A trace without usage gets no token metadata at all, never zeros."""
    with tracewire.start_span("plain"):
        pass
    trace = last_trace()
    assert trace.info.token_usage is None
    assert TraceMetadataKey.TOKEN_USAGE not in trace.info.trace_metadata


def test_malformed_usage_values_are_ignored(last_trace: LastTrace) -> None:
    """Non-integer counts (strings, booleans) are not summed."""
    _llm("a", {"input_tokens": "12", "output_tokens": True, "total_tokens": 3})  # type: ignore[dict-item]
    assert last_trace().info.token_usage == {
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 3,
    }

"""tracewire: automatic, fast and correct tracing for Python LLM applications.

The manual API follows MLflow Tracing 3.x, so MLflow's documented examples run unchanged with
``import tracewire as mlflow``::

    import tracewire

    @tracewire.trace(span_type=tracewire.SpanType.RETRIEVER)
    def retrieve(query: str) -> list[str]: ...

    with tracewire.start_span("rerank") as span:
        span.set_inputs({"n": 10})
"""

from __future__ import annotations

from tracewire import entities, tracing
from tracewire._decorator import trace
from tracewire._fluent import (
    flush,
    get_active_trace_id,
    get_current_active_span,
    get_last_active_trace_id,
    get_trace,
    search_traces,
    start_span,
    start_span_no_context,
    update_current_trace,
)
from tracewire.entities import (
    Document,
    LiveSpan,
    NoOpSpan,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)

__version__ = "0.1.0"

__all__ = [
    "Document",
    "LiveSpan",
    "NoOpSpan",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceState",
    "__version__",
    "entities",
    "flush",
    "get_active_trace_id",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "search_traces",
    "start_span",
    "start_span_no_context",
    "trace",
    "tracing",
    "update_current_trace",
]

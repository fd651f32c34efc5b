"""Trace and span entities, shaped like ``mlflow.entities``."""

from __future__ import annotations

from tracewire._constants import SpanType
from tracewire._document import Document
from tracewire._span import LiveSpan, NoOpSpan, Span
from tracewire._span_event import SpanEvent
from tracewire._status import SpanStatus, SpanStatusCode, TraceState
from tracewire._trace import Trace, TraceData, TraceInfo

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
]

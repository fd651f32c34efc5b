"""MLflow's tracing constants with their exact strings (``mlflow.tracing.constant``)."""

from __future__ import annotations

from tracewire._constants import (
    SpanAttributeKey,
    TokenUsageKey,
    TraceMetadataKey,
    TraceTagKey,
)

__all__ = [
    "SpanAttributeKey",
    "TokenUsageKey",
    "TraceMetadataKey",
    "TraceTagKey",
]

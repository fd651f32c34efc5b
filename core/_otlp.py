"""Finished traces to an OTLP ``ExportTraceServiceRequest``, built with the ``opentelemetry-proto`` package.

Imported only by the OTLP and MLflow server destinations (the ``tracewire[otlp]`` extra), never by
``import tracewire``. The span attributes come from :mod:`tracewire._otlp_attributes`; this module adds
what belongs to the trace as a whole, on its root span, and wraps everything in protobuf messages.

Trace-level keys on the root span:

* MLflow: each trace tag as ``mlflow.traceTag.<key>`` (the server turns them into trace tags, the
  trace name ``mlflow.traceName`` included), ``session.id`` and ``user.id`` from the trace metadata.
* OTel GenAI: ``gen_ai.conversation.id`` (the session).
* OpenInference: ``session.id``, ``user.id``, ``metadata`` (JSON text of the user's metadata) and
  ``tag.tags`` (``key=value`` strings of the user's tags).
"""

from __future__ import annotations

import os

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from tracewire import __version__
from tracewire._constants import TRACE_REQUEST_ID_PREFIX, TraceMetadataKey
from tracewire._json import dumps
from tracewire._otlp_attributes import otel_value, span_attributes
from tracewire._status import SpanStatusCode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from tracewire._otlp_attributes import AttributeValue
    from tracewire._span import Span
    from tracewire._trace import Trace

TRACE_TAG_PREFIX = "mlflow.traceTag."
DEFAULT_SERVICE_NAME = "tracewire"
SCOPE_VERSION = __version__
_SCOPE = InstrumentationScope(name="tracewire", version=SCOPE_VERSION)
_STATUS_CODES = {
    SpanStatusCode.UNSET: Status.STATUS_CODE_UNSET,
    SpanStatusCode.OK: Status.STATUS_CODE_OK,
    SpanStatusCode.ERROR: Status.STATUS_CODE_ERROR,
}
_INT64 = range(-(2**63), 2**63)


def resource_attributes(default_service_name: str | None = DEFAULT_SERVICE_NAME) -> dict[str, str]:
    """The resource describing this process, from the standard OpenTelemetry variables.

    ``OTEL_RESOURCE_ATTRIBUTES`` (``key=value`` pairs, comma separated, values URL-encoded) is read
    first, then ``OTEL_SERVICE_NAME`` sets ``service.name``. An MLflow server turns every resource
    attribute except ``telemetry.sdk.*`` into a trace tag, so the set is kept small.

    Args:
        default_service_name: ``service.name`` when neither variable sets one; ``None`` to leave it
            out (the MLflow destination does, so its traces carry no tag the user did not ask for).

    Returns:
        The attributes.
    """
    from urllib.parse import unquote  # noqa: PLC0415 - export thread only

    attributes = {
        "telemetry.sdk.name": "tracewire",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": SCOPE_VERSION,
    }
    for pair in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, separator, value = pair.partition("=")
        if separator and key.strip():
            attributes[key.strip()] = unquote(value.strip())
    service_name = os.environ.get("OTEL_SERVICE_NAME", "").strip()
    if service_name:
        attributes["service.name"] = service_name
    elif default_service_name and "service.name" not in attributes:
        attributes["service.name"] = default_service_name
    return attributes


def trace_attributes(trace: Trace) -> dict[str, AttributeValue]:
    """The keys that describe the whole trace, for its root span (see the module docstring)."""
    info = trace.info
    attributes: dict[str, AttributeValue] = {}
    for key, value in info.tags.items():
        attributes[TRACE_TAG_PREFIX + key] = value
    session = info.trace_metadata.get(TraceMetadataKey.TRACE_SESSION)
    if session:
        attributes["session.id"] = session
        attributes["gen_ai.conversation.id"] = session
    user = info.trace_metadata.get(TraceMetadataKey.TRACE_USER)
    if user:
        attributes["user.id"] = user
    metadata = {k: v for k, v in info.trace_metadata.items() if not k.startswith("mlflow.")}
    if metadata:
        attributes["metadata"] = dumps(metadata)
    tags = [f"{k}={v}" for k, v in info.tags.items() if not k.startswith("mlflow.")]
    if tags:
        attributes["tag.tags"] = tags
    return attributes


def root_span(spans: Sequence[Span]) -> Span | None:
    """The root of a trace: the span without a parent (or whose parent is not in the trace)."""
    ids = {span.span_id for span in spans}
    for span in spans:
        if span.parent_id is None or span.parent_id not in ids:
            return span
    return None


def to_request(
    traces: Iterable[Trace], resource: Mapping[str, AttributeValue]
) -> ExportTraceServiceRequest:
    """Convert finished traces to one OTLP export request.

    Args:
        traces: The traces.
        resource: Attributes of the resource (the process) that produced them.

    Returns:
        The request, ready for ``SerializeToString()``.
    """
    spans: list[OtlpSpan] = []
    for trace in traces:
        root = root_span(trace.data.spans)
        for span in trace.data.spans:
            extra = trace_attributes(trace) if span is root else None
            spans.append(to_span(span, extra))
    resource_spans = ResourceSpans(
        resource=Resource(attributes=_key_values(resource.items())),
        scope_spans=[ScopeSpans(scope=_SCOPE, spans=spans)],
    )
    return ExportTraceServiceRequest(resource_spans=[resource_spans])


def to_span(span: Span, extra: Mapping[str, AttributeValue] | None = None) -> OtlpSpan:
    """Convert one finished span.

    Args:
        span: The span.
        extra: Trace-level attributes to add (root span only); the span's own keys win.

    Returns:
        The OTLP span.
    """
    attributes = span_attributes(span)
    if extra:
        for key, value in extra.items():
            attributes.setdefault(key, value)
    start = span.start_time_ns
    # A span of a trace force-finished at exit may not have ended: it lasted until the last event.
    end = span.end_time_ns or max([start, *(event.timestamp for event in span.events)])
    return OtlpSpan(
        trace_id=bytes.fromhex(span.trace_id.removeprefix(TRACE_REQUEST_ID_PREFIX)),
        span_id=bytes.fromhex(span.span_id),
        parent_span_id=bytes.fromhex(span.parent_id) if span.parent_id else b"",
        name=span.name,
        kind=OtlpSpan.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=_key_values(attributes.items()),
        events=[
            OtlpSpan.Event(
                name=event.name,
                time_unix_nano=event.timestamp,
                attributes=_key_values(
                    (key, otel_value(value)) for key, value in event.attributes.items()
                ),
            )
            for event in span.events
        ],
        status=Status(code=_STATUS_CODES[span.status.status_code], message=span.status.description),
    )


def rejected_spans(body: bytes) -> tuple[int, str]:
    """Read an ``ExportTraceServiceResponse``: how many spans the server rejected, and why.

    Args:
        body: The response body (empty, or a protobuf message; anything else counts as no rejection).
    """
    if not body:
        return 0, ""
    from google.protobuf.message import DecodeError  # noqa: PLC0415 - loaded with the messages

    response = ExportTraceServiceResponse()
    try:
        response.ParseFromString(body)
    except DecodeError:  # a JSON or text answer from a proxy: the status code already said OK
        return 0, ""
    partial = response.partial_success
    return partial.rejected_spans, partial.error_message


def _key_values(items: Iterable[tuple[str, Any]]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any_value(value)) for key, value in items if value is not None]


def _any_value(value: Any) -> AnyValue:
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bool):  # before int: bool is an int subclass
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value) if value in _INT64 else AnyValue(string_value=str(value))
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_any_value(item) for item in value]))
    return AnyValue(string_value=dumps(value))

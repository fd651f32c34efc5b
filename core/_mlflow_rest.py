"""MLflow tracking server REST payloads: trace info we send, and traces the server returns.

The server answers trace reads (``/api/3.0/mlflow/traces/get``, ``batchGet``, ``search``) with its
protobuf messages as JSON: ``trace_info`` in MLflow's proto-JSON shape (which :meth:`TraceInfo.from_dict`
reads) and spans in an OTLP-like shape whose attribute values are typed ``AnyValue`` objects
(``{"string_value": ...}``, ``{"kvlist_value": {"values": [...]}}``, ...). MLflow's own client decodes
each value and stores it as JSON text; :func:`trace_from_json` does the same, so a trace read from the
server has the same attribute values as one read by ``mlflow.get_trace``.
"""

from __future__ import annotations

from functools import partial

from tracewire._constants import TraceMetadataKey
from tracewire._json import dumps
from tracewire._preview import preview
from tracewire._span import Span
from tracewire._status import TraceState
from tracewire._trace import Trace, TraceData, TraceInfo, _rfc3339_from_ms

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

# Metadata the server works out by itself from OTLP spans, or that only restates the spans. Any other
# key (the user's metadata, mlflow.modelId, mlflow.sourceRun, ...) needs the trace info REST call.
_SERVER_DERIVED_METADATA = frozenset(
    {
        TraceMetadataKey.SCHEMA_VERSION,
        TraceMetadataKey.INPUTS,
        TraceMetadataKey.OUTPUTS,
        TraceMetadataKey.TOKEN_USAGE,
        TraceMetadataKey.TRACE_SESSION,
        TraceMetadataKey.TRACE_USER,
        TraceMetadataKey.SIZE_BYTES,
        TraceMetadataKey.COST,
    }
)


def needs_trace_info(trace: Trace, root: Span | None) -> bool:
    """Whether ``trace`` carries something OTLP cannot: the server would not derive it from spans.

    That is a client request id, metadata beyond what the server computes, a state set by the user
    rather than derived from the root span, or a preview the user set. A part of a distributed trace
    whose root lives in another process never does: the call would overwrite the whole trace's
    state and times with this part's.
    """
    if root is None or root.parent_id is not None:
        return False
    info = trace.info
    if info.client_request_id is not None:
        return True
    if any(key not in _SERVER_DERIVED_METADATA for key in info.trace_metadata):
        return True
    if info.state is not TraceState.from_span_status(root.status):
        return True
    for key, role, given in (
        ("mlflow.spanInputs", "user", info.request_preview),
        ("mlflow.spanOutputs", "assistant", info.response_preview),
    ):
        text = root._attributes.get(key)
        automatic = None if text is None else preview(text, partial(root.get_attribute, key), role)
        if given != automatic:
            return True
    return False


def trace_info_body(trace: Trace) -> dict[str, Any]:
    """The ``StartTraceV3`` request body for ``trace``: what MLflow's client sends at trace end.

    The server merges it into the trace the OTLP spans created, in either order: it overwrites state,
    times and client request id, sets the previews given, and upserts tags and metadata.
    """
    info = trace.info
    trace_info: dict[str, Any] = {
        "trace_id": info.trace_id,
        "trace_location": info.trace_location,
        "request_time": _rfc3339_from_ms(info.request_time),
        "state": info.state.value,
        "trace_metadata": dict(info.trace_metadata),
        "tags": dict(info.tags),
    }
    if info.execution_duration is not None:
        trace_info["execution_duration"] = f"{info.execution_duration / 1000:.3f}s"
    for key in ("client_request_id", "request_preview", "response_preview"):
        value = getattr(info, key)
        if value is not None:
            trace_info[key] = value
    return {"trace": {"trace_info": trace_info}}


def any_value(value: Mapping[str, Any]) -> Any:
    """Decode a proto-JSON ``AnyValue`` (``{"string_value": "x"}`` and so on) to a Python value."""
    if "string_value" in value:
        return value["string_value"]
    if "bool_value" in value:
        return bool(value["bool_value"])
    if "int_value" in value:
        return int(value["int_value"])  # int64 arrives as a JSON string
    if "double_value" in value:
        return float(value["double_value"])
    if "array_value" in value:
        return [any_value(item) for item in (value["array_value"] or {}).get("values") or []]
    if "kvlist_value" in value:
        return key_values((value["kvlist_value"] or {}).get("values") or [])
    if "bytes_value" in value:
        return value["bytes_value"]  # base64 text, as MLflow's client leaves it
    return None


def key_values(items: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Decode a proto-JSON ``KeyValue`` list to a dict."""
    return {item["key"]: any_value(item.get("value") or {}) for item in items}


def span_from_json(data: Mapping[str, Any]) -> Span:
    """Read one span the server returned (typed attribute values) as a finished span."""
    span = dict(data)
    span["attributes"] = {
        key: dumps(value) for key, value in key_values(data.get("attributes") or []).items()
    }
    span["events"] = [
        {
            "name": event.get("name", ""),
            "time_unix_nano": int(event.get("time_unix_nano") or 0),
            "attributes": key_values(event.get("attributes") or []),
        }
        for event in data.get("events") or []
    ]
    status = data.get("status") or {}
    span["status"] = {
        "code": status.get("code", "STATUS_CODE_UNSET"),
        "message": status.get("message", ""),
    }
    return Span.from_dict(span)


def trace_from_json(data: Mapping[str, Any]) -> Trace:
    """Read a ``{"trace_info": ..., "spans": [...]}`` object the server returned."""
    info = TraceInfo.from_dict(data["trace_info"])
    spans = [span_from_json(span) for span in data.get("spans") or []]
    # In start order, root first, as finished traces are everywhere else.
    spans.sort(key=lambda span: (span.start_time_ns, span.parent_id is not None))
    return Trace(info, TraceData(spans))

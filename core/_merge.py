"""Merging two exports of one trace id: the parts of a distributed trace, or a re-export.

A client process and a server process that share a trace (W3C ``traceparent``) each export the spans
they recorded under the same trace id. Stores merge those parts instead of letting the last one win:
spans are united by span id, the part holding the root span supplies what describes the whole trace
(name, previews, request time, duration, state), and token totals are recomputed over the merged
spans so that usage is counted once.
"""

from __future__ import annotations

from tracewire._constants import TraceMetadataKey
from tracewire._json import dumps
from tracewire._token_usage import aggregate_token_usage
from tracewire._trace import Trace, TraceData, TraceInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tracewire._span import Span


def _holds_root(trace: Trace) -> bool:
    """Whether this part has the trace's root span (a span without any parent)."""
    return any(span.parent_id is None for span in trace.data.spans)


def merge_traces(stored: Trace, incoming: Trace) -> Trace:
    """Combine two exports of the same trace id into one trace.

    Args:
        stored: What the store holds already.
        incoming: The newly exported part (it wins ties: a re-export replaces equal span ids).

    Returns:
        A new trace holding the spans of both parts, in start order.
    """
    # The primary part describes the trace: the one holding the root span; between two parts
    # that both hold it (a re-export) the newer; between two that do not, the earlier one.
    incoming_root, stored_root = _holds_root(incoming), _holds_root(stored)
    if incoming_root != stored_root:
        primary = incoming if incoming_root else stored
    elif incoming_root:
        primary = incoming
    else:
        primary = incoming if incoming.info.request_time < stored.info.request_time else stored
    secondary = stored if primary is incoming else incoming

    by_id: dict[str, Span] = {span.span_id: span for span in stored.data.spans}
    by_id.update((span.span_id, span) for span in incoming.data.spans)
    spans = sorted(by_id.values(), key=lambda span: span.start_time_ns)

    first, second = primary.info, secondary.info
    metadata = {**second.trace_metadata, **first.trace_metadata}
    usage = aggregate_token_usage(spans)
    if usage is None:
        metadata.pop(TraceMetadataKey.TOKEN_USAGE, None)
    else:
        metadata[TraceMetadataKey.TOKEN_USAGE] = dumps(usage)
    info = TraceInfo(
        trace_id=first.trace_id,
        request_time=first.request_time,
        state=first.state,
        experiment_id=first.experiment_id,
        request_preview=first.request_preview or second.request_preview,
        response_preview=first.response_preview or second.response_preview,
        client_request_id=first.client_request_id or second.client_request_id,
        execution_duration=first.execution_duration
        if first.execution_duration is not None
        else second.execution_duration,
        trace_metadata=metadata,
        tags={**second.tags, **first.tags},
        assessments=[*first.assessments, *second.assessments],
    )
    return Trace(info, TraceData(spans))


def merge_batch(traces: list[Trace]) -> dict[str, Trace]:
    """Merge duplicates inside one export batch; return the traces by id, in first-seen order."""
    merged: dict[str, Trace] = {}
    for trace in traces:
        earlier = merged.get(trace.trace_id)
        merged[trace.trace_id] = trace if earlier is None else merge_traces(earlier, trace)
    return merged

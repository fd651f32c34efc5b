"""The manual tracing API: start spans, reach the active span and trace, read traces back."""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey, SpanType, TraceMetadataKey
from tracewire._context import ACTIVE_SPAN, begin_span
from tracewire._errors import log, report_internal_error
from tracewire._experiments import active_experiment
from tracewire._export import EXPORTER
from tracewire._json import SCALAR_TYPES, snapshot
from tracewire._propagation import RemoteParentSpan
from tracewire._span import NO_OP_SPAN, LiveSpan, NoOpSpan
from tracewire._status import TraceState
from tracewire._trace import Trace
from tracewire._trace_manager import last_trace_id, trace_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType
    from typing import Any, Literal


def _initial_attributes(span_type: str, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    initial: dict[str, Any] = {
        SpanAttributeKey.SPAN_TYPE: span_type if type(span_type) is str else str(span_type)
    }
    if attributes:
        for key, value in attributes.items():
            # Inline tests for the usual str keys and scalar values: runs on every traced call.
            initial[key if type(key) is str else str(key)] = (
                value if type(value) in SCALAR_TYPES else snapshot(value)
            )
    return initial


class _ActiveSpanScope:
    """Context manager behind :func:`start_span`: makes the span active, ends it on exit."""

    __slots__ = ("_attributes", "_name", "_span", "_span_type", "_token")

    def __init__(self, name: str, span_type: str, attributes: Mapping[str, Any] | None) -> None:
        self._name = name
        self._span_type = span_type
        self._attributes = attributes
        self._span: LiveSpan | NoOpSpan = NO_OP_SPAN

    def __enter__(self) -> LiveSpan | NoOpSpan:
        parent = ACTIVE_SPAN.get()
        try:
            self._span = begin_span(
                self._name, parent, _initial_attributes(self._span_type, self._attributes)
            )
        except Exception:  # noqa: BLE001 - reported by policy; the user's block still runs
            report_internal_error("starting a span")
            self._span = NO_OP_SPAN if parent is None else parent
        self._token = ACTIVE_SPAN.set(self._span)
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        try:
            ACTIVE_SPAN.reset(self._token)
        except ValueError:  # exited in another context than entered (e.g. a moved generator)
            ACTIVE_SPAN.set(None)
        span = self._span
        if span is not NO_OP_SPAN:
            try:
                if exc is not None:
                    span.record_exception(exc)
                span.end()
            except Exception:  # noqa: BLE001 - reported by policy
                report_internal_error("ending a span")
        return False


def start_span(
    name: str = "span",
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
) -> _ActiveSpanScope:
    """Open a span as a context manager; it is the active span inside the ``with`` block.

    An exception raised in the block is recorded on the span (status ERROR plus an ``exception``
    event) and propagates unchanged. Outside any span, this starts a new trace.

    Args:
        name: The span name.
        span_type: A :class:`~tracewire.entities.SpanType` constant or a custom string.
        attributes: Initial attributes.

    Returns:
        A context manager yielding the :class:`~tracewire.entities.LiveSpan` (a
        :class:`~tracewire.entities.NoOpSpan` when tracing is off or sampled out).

    Example:
        >>> with tracewire.start_span("rerank", span_type=SpanType.RERANKER) as span:
        ...     span.set_inputs({"n": 10})
    """
    return _ActiveSpanScope(name, span_type, attributes)


def start_span_no_context(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent_span: LiveSpan | NoOpSpan | None = None,
    inputs: Any = None,
    attributes: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
    experiment_id: str | None = None,
    start_time_ns: int | None = None,
) -> LiveSpan | NoOpSpan:
    """Start a span without making it active; the caller must call ``span.end()``.

    For callback-style integrations that start and end a span in different frames.

    Args:
        name: The span name.
        span_type: A :class:`~tracewire.entities.SpanType` constant or a custom string.
        parent_span: The parent; defaults to the active span, else a new trace is started.
        inputs: The span inputs.
        attributes: Initial attributes.
        tags: Tags merged into the span's trace.
        metadata: Metadata merged into the span's trace.
        experiment_id: The MLflow experiment of a new trace.
        start_time_ns: Start time in nanoseconds since the epoch; defaults to now.

    Returns:
        The started span (a :class:`~tracewire.entities.NoOpSpan` when not recording).
    """
    parent = parent_span if parent_span is not None else ACTIVE_SPAN.get()
    try:
        span = begin_span(name, parent, _initial_attributes(span_type, attributes), start_time_ns)
        if isinstance(span, LiveSpan):
            if inputs is not None:
                span.set_inputs(inputs)
            # Each makes the record of a new trace, which a lone root span goes without.
            if tags:
                trace_of(span).add_tags({str(k): str(v) for k, v in tags.items()})
            if metadata:
                trace_of(span).add_metadata({str(k): str(v) for k, v in metadata.items()})
            if experiment_id is not None and span.parent_id is None:
                trace_of(span).experiment_id = str(experiment_id)
        return span
    except Exception:  # noqa: BLE001 - reported by policy
        report_internal_error("starting a span")
        return NO_OP_SPAN


def get_current_active_span() -> LiveSpan | NoOpSpan | None:
    """Return the active span of the current context, or ``None`` outside any span.

    Spans started with :func:`start_span_no_context` are never active, and neither is the remote
    caller's span inside ``set_tracing_context_from_http_request_headers`` (as in MLflow).
    """
    span = ACTIVE_SPAN.get()
    return None if type(span) is RemoteParentSpan else span


def get_active_trace_id() -> str | None:
    """Return the id of the trace the active span belongs to, or ``None``."""
    span = get_current_active_span()
    if isinstance(span, LiveSpan):
        return span.trace_id
    return None


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """Return the id of the most recently finished trace.

    Args:
        thread_local: Look only at traces finished in the current thread.
    """
    return last_trace_id(thread_local=thread_local)


def _string_map(values: Mapping[str, Any], what: str) -> dict[str, str]:
    result = {}
    for key, value in values.items():
        if not isinstance(value, str):
            log().warning(
                "trace %s %r has a non-string value of type %s; it is stored as str(value)",
                what,
                key,
                type(value).__name__,
            )
        result[str(key)] = value if isinstance(value, str) else str(value)
    return result


def update_current_trace(
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    client_request_id: str | None = None,
    request_preview: str | None = None,
    response_preview: str | None = None,
    state: TraceState | str | None = None,
    model_id: str | None = None,
    session_id: str | None = None,
    user: str | None = None,
) -> None:
    """Update the trace of the active span. Outside any span, logs a warning and does nothing.

    Args:
        tags: Tags to add or overwrite.
        metadata: Metadata to add or overwrite.
        client_request_id: An application-level id to find the trace by.
        request_preview: A preview to show instead of the automatic one.
        response_preview: A preview to show instead of the automatic one.
        state: ``"OK"`` or ``"ERROR"``, overriding the state derived from the root span.
        model_id: Stored as metadata ``mlflow.modelId``.
        session_id: Stored as metadata ``mlflow.trace.session``.
        user: Stored as metadata ``mlflow.trace.user``.

    Raises:
        TypeError: If a preview is not a string.
        ValueError: If ``state`` is not OK or ERROR.
    """
    for label, preview in (
        ("request_preview", request_preview),
        ("response_preview", response_preview),
    ):
        if preview is not None and not isinstance(preview, str):
            raise TypeError(f"{label} must be a str, got {type(preview).__name__}")
    parsed_state = None
    if state is not None:
        text = state.value if isinstance(state, TraceState) else str(state).upper()
        if text not in (TraceState.OK.value, TraceState.ERROR.value):
            raise ValueError(f"state must be 'OK' or 'ERROR', got {state!r}")
        parsed_state = TraceState(text)

    span = get_current_active_span()
    if span is None:
        log().warning("update_current_trace() was called outside any span; nothing was updated")
        return
    if not isinstance(span, LiveSpan):
        return
    trace = trace_of(span)
    if tags:
        trace.add_tags(_string_map(tags, "tag"))
    extra_metadata = dict(metadata or {})
    for key, value in (
        (TraceMetadataKey.MODEL_ID, model_id),
        (TraceMetadataKey.TRACE_SESSION, session_id),
        (TraceMetadataKey.TRACE_USER, user),
    ):
        if value is not None:
            extra_metadata[key] = value
    if extra_metadata:
        trace.add_metadata(_string_map(extra_metadata, "metadata"))
    if client_request_id is not None:
        trace.client_request_id = str(client_request_id)
    if request_preview is not None:
        trace.request_preview = request_preview
    if response_preview is not None:
        trace.response_preview = response_preview
    if parsed_state is not None:
        trace.state = parsed_state


def get_trace(trace_id: str) -> Trace | None:
    """Return a finished trace by id (pending exports are flushed first), or ``None``.

    Never raises: a failure to read is logged.
    """
    try:
        EXPORTER.flush()
        return EXPORTER.destination.get_trace(trace_id)
    except Exception:  # noqa: BLE001 - reported by policy
        report_internal_error("reading a trace")
        return None


def _experiment_scope(
    experiment_ids: Sequence[str] | None, experiment_names: Sequence[str] | None
) -> list[str] | None:
    """The experiments a search or delete covers: those named, else the active one, else all."""
    for label, values in (
        ("experiment_ids", experiment_ids),
        ("experiment_names", experiment_names),
    ):
        if isinstance(values, str):
            raise TypeError(f"{label} must be a list of strings, not a str: use [{values!r}]")
    if not experiment_ids and not experiment_names:  # [] too: MLflow's "not given"
        active = active_experiment()
        return None if active is None else [active.experiment_id]
    scope = [str(e) for e in experiment_ids or ()]
    destination = EXPORTER.destination
    for name in experiment_names or ():
        try:
            scope.append(destination.experiment_id_for(name, create=False))
        except KeyError:  # an unknown experiment holds no traces
            continue
    return scope


def search_traces(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    return_type: Literal["pandas", "list"] | None = None,
    experiment_names: list[str] | None = None,
) -> Any:
    """Search finished traces (pending exports are flushed first).

    Args:
        experiment_ids: Keep traces of these experiments only. Without ``experiment_ids`` and
            ``experiment_names``: the experiment made active by :func:`set_experiment`, else all.
        filter_string: MLflow-style filter, e.g. ``"tags.env = 'prod' AND status = 'ERROR'"``;
            see ``docs/destinations.md`` for the grammar.
        max_results: Return at most this many traces.
        order_by: Clauses like ``"timestamp_ms DESC"``; newest first by default.
        return_type: ``"list"`` for :class:`Trace` objects or ``"pandas"`` for a DataFrame; by default
            a DataFrame when pandas is installed, as MLflow does.
        experiment_names: Keep traces of the experiments with these names (unknown names match
            nothing).

    Returns:
        A list of traces or a pandas DataFrame with MLflow's columns.

    Raises:
        ValueError: For a malformed filter (the message points at the problem), a bad ``order_by``
            or ``max_results``.
    """
    from tracewire._search import TraceQuery  # noqa: PLC0415 - `re` stays out of `import tracewire`

    if return_type not in (None, "list", "pandas"):
        raise ValueError(f"return_type must be 'list' or 'pandas', got {return_type!r}")
    query = TraceQuery(
        filter_string,
        experiment_ids=_experiment_scope(experiment_ids, experiment_names),
        max_results=max_results,
        order_by=order_by,
    )
    EXPORTER.flush()
    traces = EXPORTER.destination.search_traces(query)
    if return_type is None:
        try:
            import pandas  # noqa: F401, PLC0415 - optional; MLflow's default when installed
        except ImportError:
            return_type = "list"
        else:
            return_type = "pandas"
    if return_type == "list":
        return traces
    return _to_dataframe(traces)


def delete_traces(
    experiment_id: str | None = None,
    max_timestamp_millis: int | None = None,
    max_traces: int | None = None,
    trace_ids: Sequence[str] | None = None,
    *,
    filter_string: str | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> int:
    """Delete finished traces (pending exports are flushed first); return how many were deleted.

    The arguments of MLflow's ``MlflowClient.delete_traces`` come first, in its order; every given
    criterion must hold. At least one of ``trace_ids``, ``max_timestamp_millis`` and
    ``filter_string`` is required, so that no call deletes everything by accident.

    Args:
        experiment_id: Delete only in this experiment. Without it and ``experiment_ids``: the
            experiment made active by :func:`set_experiment`, else every experiment.
        max_timestamp_millis: Delete traces started at or before this time (ms since the epoch).
        max_traces: Delete at most this many traces, oldest first.
        trace_ids: Delete these traces.
        filter_string: Delete the traces this search filter matches.
        experiment_ids: Several experiments to delete in.

    Returns:
        The number of traces deleted.

    Raises:
        ValueError: If no criterion is given, a number is not positive, or the filter is malformed.
        TypeError: If ``trace_ids`` or ``experiment_ids`` is a single string.
    """
    from tracewire._search import TraceQuery  # noqa: PLC0415 - `re` stays out of `import tracewire`

    if isinstance(trace_ids, str):
        raise TypeError(f"trace_ids must be a list of trace ids, not a str: use [{trace_ids!r}]")
    if experiment_id is not None and not isinstance(experiment_id, str):
        raise TypeError(
            f"experiment_id must be a str, got {type(experiment_id).__name__} (MLflow's argument "
            "order: experiment_id, max_timestamp_millis, max_traces, trace_ids)"
        )
    if trace_ids is None and max_timestamp_millis is None and not filter_string:
        raise ValueError(
            "delete_traces needs trace_ids, max_timestamp_millis or filter_string; "
            'to delete every trace, pass filter_string="timestamp_ms >= 0"'
        )
    if max_traces is not None and max_traces < 1:
        raise ValueError(f"max_traces must be a positive integer, got {max_traces}")
    scope = _experiment_scope(
        None
        if experiment_id is None and experiment_ids is None
        else [*([experiment_id] if experiment_id is not None else []), *(experiment_ids or ())],
        None,
    )
    destination = EXPORTER.destination
    by_id_only = scope is None and not filter_string and max_timestamp_millis is None
    if trace_ids is not None and by_id_only and max_traces is None:  # no search needed
        EXPORTER.flush()
        return destination.delete_traces(list(trace_ids)) if trace_ids else 0
    clauses = [filter_string] if filter_string else []
    if max_timestamp_millis is not None:
        clauses.append(f"timestamp_ms <= {int(max_timestamp_millis)}")
    if trace_ids is not None:
        if not trace_ids:
            return 0
        quoted = ", ".join("'" + str(i).replace("'", "''") + "'" for i in trace_ids)
        clauses.append(f"trace_id IN ({quoted})")
    # The criteria become one filter string, so a server destination can forward all of them.
    query = TraceQuery(
        " AND ".join(clauses),
        experiment_ids=scope,
        max_results=max_traces,
        order_by=["timestamp_ms ASC"],
    )
    EXPORTER.flush()
    doomed = [trace.trace_id for trace in destination.search_traces(query)]
    return destination.delete_traces(doomed) if doomed else 0


def _to_dataframe(traces: list[Trace]) -> Any:
    try:
        import pandas as pd  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ImportError(
            "return_type='pandas' needs pandas: pip install 'tracewire[pandas]'"
        ) from None
    rows = [
        {
            "trace_id": t.info.trace_id,
            "trace": t,
            "client_request_id": t.info.client_request_id,
            "state": t.info.state.value,
            "request_time": t.info.request_time,
            "execution_duration": t.info.execution_duration,
            "request": t.data.request,
            "response": t.data.response,
            "trace_metadata": t.info.trace_metadata,
            "tags": t.info.tags,
            "spans": [s.to_dict() for s in t.data.spans],
            "assessments": t.info.assessments,
        }
        for t in traces
    ]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


def flush(timeout: float | None = None) -> bool:
    """Wait until every finished trace has reached its destination.

    Args:
        timeout: Seconds to wait at most; ``None`` waits as long as needed.

    Returns:
        ``True`` if everything was exported in time.
    """
    return EXPORTER.flush(timeout)

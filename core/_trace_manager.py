"""Traces in progress: which spans belong together, and what happens when the root span ends.

The caller's thread only appends to lists and flips flags here. Building the finished
:class:`~tracewire.entities.Trace` (JSON encoding, previews, token totals) happens on the export thread.
"""

from __future__ import annotations

import time
from _thread import _local

from tracewire._config import SETTINGS
from tracewire._constants import DEFAULT_EXPERIMENT_ID
from tracewire._errors import warn_once
from tracewire._status import SpanStatus, SpanStatusCode, TraceState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tracewire._span import LiveSpan, Span


_last_trace_id: str | None = None


class _LastTraceInThread(_local):
    trace_id: str | None = None


_last_in_thread = _LastTraceInThread()


class InProgressTrace:
    """Mutable bookkeeping for one trace whose root span has not ended yet.

    Created once per trace on the caller's thread, so only the five fields every trace needs are set
    per instance; the rarely set ones default at class level until the user sets them.
    """

    client_request_id: str | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    state: TraceState | None = None
    experiment_id: str = DEFAULT_EXPERIMENT_ID
    tags: dict[str, str] | None = None
    metadata: dict[str, str] | None = None

    def __init__(self, trace_id: str, started_ns: int) -> None:
        """Register a new trace (its root span is about to start), evicting stale ones first."""
        if _in_progress:
            _evict_stale(started_ns)
        self.trace_id = trace_id
        self.started_ns = started_ns
        self.root: LiveSpan | None = None
        # Spans started in the trace; once it is finished, the ones the export thread builds.
        self.spans: list[LiveSpan] = []
        self.closed = False
        _in_progress[trace_id] = self

    def add_tags(self, tags: dict[str, str]) -> None:
        """Add or overwrite trace tags."""
        if self.tags is None:
            self.tags = {}
        self.tags.update(tags)

    def add_metadata(self, metadata: dict[str, str]) -> None:
        """Add or overwrite trace metadata."""
        if self.metadata is None:
            self.metadata = {}
        self.metadata.update(metadata)

    def span_ended(self, span: LiveSpan) -> None:
        """Called by :meth:`LiveSpan.end`; finishes the trace when the root span ends."""
        if self.closed:
            warn_once(
                "late-span",
                "span %r ended after its trace %s was finished; spans that outlive their root "
                "span are not exported",
                span.name,
                self.trace_id,
            )
            return
        if span is self.root:
            global _last_trace_id
            self.closed = True  # children started from now on are late: not added, not exported
            _in_progress.pop(self.trace_id, None)
            _last_trace_id = _last_in_thread.trace_id = self.trace_id
            self.root = None
            if len(self.spans) != 1:
                self.spans = [s for s in self.spans if s._end_time_ns is not None]
            _sink(self)


_in_progress: dict[str, InProgressTrace] = {}


def take_spans(trace: InProgressTrace) -> Sequence[LiveSpan | Span]:
    """Return a finished trace's spans, and drop the trace's references to them.

    Spans point at their trace, so a finished trace and its spans form a reference cycle until
    then. Every finished trace passes through here (or is dropped by :func:`drop`), so reference
    counting frees it: a cycle per call would make the garbage collector run in the caller's
    thread.
    """
    spans = trace.spans
    trace.spans = []
    return spans


def drop(trace: InProgressTrace) -> None:
    """Let a finished trace that will not be exported be freed (see :func:`take_spans`)."""
    trace.spans = []


_sink: Callable[[InProgressTrace], None] = drop


def set_sink(sink: Callable[[InProgressTrace], None]) -> None:
    """Set the function that receives each finished trace (the exporter's ``submit``).

    It receives the trace with its ended spans, and must pass it to :func:`take_spans` or
    :func:`drop`.
    """
    global _sink
    _sink = sink


def last_trace_id(*, thread_local: bool = False) -> str | None:
    """Return the id of the last trace finished in this process (or in this thread)."""
    if thread_local:
        return _last_in_thread.trace_id
    return _last_trace_id


def _evict_stale(now_ns: int) -> None:
    limit = SETTINGS.max_in_progress_traces
    deadline = now_ns - SETTINGS.in_progress_timeout_s * 1e9
    while _in_progress:
        try:
            oldest = next(iter(_in_progress.values()))
        except (StopIteration, RuntimeError):  # another thread changed the dict; try next time
            return
        if len(_in_progress) < limit and oldest.started_ns > deadline:
            return
        if _in_progress.pop(oldest.trace_id, None) is not None:
            _evict(
                oldest,
                f"it was older than {SETTINGS.in_progress_timeout_s:g}s or more than "
                f"{SETTINGS.max_in_progress_traces} traces were in progress",
            )


def _evict(trace: InProgressTrace, why: str) -> None:
    """Export a trace whose root never ended, closing its open spans as errors, and warn."""
    trace.closed = True
    now = time.time_ns()
    reason = f"span was still open when its trace was exported: {why}"
    finished: list[Span | LiveSpan] = []
    for span in list(trace.spans):
        if span._end_time_ns is not None:
            finished.append(span)
            continue
        forced = span.to_immutable_span()
        forced._end_time_ns = now
        forced._status = SpanStatus(SpanStatusCode.ERROR, reason)
        finished.append(forced)
    trace.state = TraceState.ERROR
    warn_once(
        "evicted",
        "trace %s never finished (its root span %r did not end): %s; exported it with state ERROR",
        trace.trace_id,
        trace.root.name if trace.root is not None else "?",
        why,
    )
    trace.spans = finished  # type: ignore[assignment]  # immutable copies of the open ones
    _sink(trace)


def evict_all_in_progress() -> None:
    """Export every trace still in progress, marked ERROR (at interpreter exit)."""
    while _in_progress:
        try:
            trace_id = next(iter(_in_progress))
        except (StopIteration, RuntimeError):
            continue
        trace = _in_progress.pop(trace_id, None)
        if trace is not None:
            _evict(trace, "the program exited first")


def clear_in_progress() -> None:
    """Forget every trace in progress without exporting it (test isolation)."""
    global _last_trace_id
    _in_progress.clear()
    _last_trace_id = _last_in_thread.trace_id = None


def find_in_progress(trace_id: str) -> InProgressTrace | None:
    """Return this process's unfinished trace with this id, if any (distributed tracing joins it)."""
    return _in_progress.get(trace_id)


def discard_in_progress(trace: InProgressTrace) -> None:
    """Close a trace without exporting it: a remote trace's part that recorded no span here."""
    trace.closed = True
    if _in_progress.get(trace.trace_id) is trace:
        _in_progress.pop(trace.trace_id, None)


def in_progress_count() -> int:
    """Return how many traces are in progress."""
    return len(_in_progress)

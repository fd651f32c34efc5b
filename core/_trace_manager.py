"""Traces in progress: which spans belong together, and what happens when the root span ends.

The caller's thread only appends to lists and flips flags here. Building the finished
:class:`~tracewire.entities.Trace` (JSON encoding, previews, token totals) happens on the export thread.

A root span starts *detached*: its :class:`InProgressTrace` is made only when something needs it
(:func:`trace_of`): a second span joining the trace, the trace's tags or metadata being set, a
distributed trace joining it, or its eviction. Most traces of an instrumented program are one SDK
call, a lone root span; until then the span itself stands for its trace among the traces in
progress, and ending it hands the span alone to the exporter (:func:`finish_detached`), which
builds its record on the export thread. The caller's thread saves making the record and its span
list, and the bookkeeping of finishing them: 70 of the 590 bytecode operations tracewire ran per
traced Anthropic call, and two of the five objects it kept per call for the garbage collector.
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
    from typing import TypeAlias

    from tracewire._span import LiveSpan, Span

    #: What the exporter receives: a finished trace, or a detached root span standing for its
    #: trace (the trace's only span).
    Finished: TypeAlias = "InProgressTrace | LiveSpan"


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

    # Set per instance by _set_up.
    trace_id: str
    started_ns: int
    root: LiveSpan | None
    #: Spans started in the trace; once it is finished, the ones the export thread builds.
    spans: list[LiveSpan]
    closed: bool

    def __init__(self, trace_id: str, started_ns: int) -> None:
        """Register a new trace (its root span is about to start), evicting stale ones first."""
        if _in_progress:
            _evict_stale(started_ns)
        _set_up(self, trace_id, started_ns)
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


#: The traces in progress, by id: each an :class:`InProgressTrace`, or the root span standing for
#: its trace while the trace is detached. Insertion order is start order (eviction reads it).
_in_progress: dict[str, InProgressTrace | LiveSpan] = {}
# How long a thread waits for another one that claimed a detached root span to give it its record:
# a few bytecodes' work, unless something is badly wrong.
_CLAIM_WAIT_S = 1.0


def _set_up(record: InProgressTrace, trace_id: str, started_ns: int) -> None:
    """Set the fields every trace's record has (the rare ones default at class level)."""
    record.trace_id = trace_id
    record.started_ns = started_ns
    record.root = None
    record.spans = []
    record.closed = False


def _new_record(trace_id: str, started_ns: int) -> InProgressTrace:
    """An InProgressTrace that is not registered and evicts nothing (its __init__ does both)."""
    record: InProgressTrace = object.__new__(InProgressTrace)
    _set_up(record, trace_id, started_ns)
    return record


def _attach(span: LiveSpan, *, closed: bool) -> InProgressTrace:
    """Give a detached root span, just claimed, the record of its trace.

    Args:
        span: The root span, taken out of ``_in_progress`` by the caller.
        closed: Whether the record is made to be finished at once (evicted, forgotten); if not,
            it is registered in ``_in_progress`` in the span's place.
    """
    record = _new_record(span._trace_id, span._start_time_ns)
    record.root = span
    record.spans.append(span)
    if closed:
        record.closed = True
    else:
        _in_progress[record.trace_id] = record
    # Last: the threads waiting for the record (the span's own end, a child starting) act on it
    # as soon as they see it, so it must be registered or closed by then. Registered later, a
    # record the span's end had finished meanwhile would stay among the traces in progress, to be
    # exported a second time by eviction; closed later, an evicted one too.
    span._trace = record
    return record


def _closed_record(span: LiveSpan) -> InProgressTrace:
    """A finished record of ``span``'s trace: spans started under it now are late, as in any."""
    record = _new_record(span._trace_id, span._start_time_ns)
    record.closed = True
    return record


def _record_from_claimer(span: LiveSpan, *, or_end: bool) -> InProgressTrace | None:
    """Wait until the thread that claimed ``span`` gives it its record; return the record.

    With ``or_end``, stop waiting once the span has ended: its end may be the claimer, which makes
    no record. ``None`` when no record came.
    """
    deadline = 0.0
    while span._trace is None and not (or_end and span._end_time_ns is not None):
        # The claimer sets the record a few bytecodes after its claim: the wait is bounded only
        # in case something is badly wrong.
        now = time.monotonic()
        if not deadline:
            deadline = now + _CLAIM_WAIT_S
        elif now > deadline:
            break
        time.sleep(0)  # hands the GIL to the claiming thread
    return span._trace


def trace_of(span: LiveSpan) -> InProgressTrace:
    """Return the record of ``span``'s trace, made now if ``span`` is a detached root span.

    Taking the span out of ``_in_progress`` claims it, atomically and without a lock (which would
    cost more than the rest): whoever takes it gives it its record (this function, an eviction,
    :func:`clear_in_progress`), except the span's own end, which exports it alone
    (:func:`finish_detached`). A thread that finds it taken waits for the record.

    Args:
        span: A live span.

    Returns:
        The trace's record; a closed one when ``span`` is a root span that ended alone, so that
        spans started under it now are late, as in any finished trace.
    """
    record = span._trace
    if record is not None:
        return record
    if _in_progress.pop(span._trace_id, None) is span:
        return _attach(span, closed=False)
    return _record_from_claimer(span, or_end=True) or _closed_record(span)


def finish_detached(span: LiveSpan) -> None:
    """Called by :meth:`LiveSpan.end` for a root span without a record: export the span alone.

    Unless another thread claimed it (see :func:`trace_of`) as it ended: then its record
    finishes as usual.
    """
    global _last_trace_id
    if _in_progress.pop(span._trace_id, None) is not span:
        record = _record_from_claimer(span, or_end=False)
        if record is not None:
            record.span_ended(span)
            return
    _last_trace_id = _last_in_thread.trace_id = span._trace_id
    _sink(span)


def detached_record(span: LiveSpan) -> InProgressTrace:
    """The record of a trace that ended as a detached root span alone (for the exporter)."""
    return _new_record(span._trace_id, span._start_time_ns)


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


def drop(finished: Finished) -> None:
    """Let a finished trace that will not be exported be freed (see :func:`take_spans`).

    A span's pending derivation may be the span itself (an SDK call is its own span), a cycle
    that only the export, which resolves it, would otherwise break.
    """
    if isinstance(finished, InProgressTrace):
        spans, finished.spans = finished.spans, []
    else:  # a root span that ended detached
        spans = [finished]
    for span in spans:
        if hasattr(span, "_later"):  # not an evicted span's finished copy
            span._later = None


_sink: Callable[[Finished], None] = drop


def set_sink(sink: Callable[[Finished], None]) -> None:
    """Set the function that receives each finished trace (the exporter's ``submit``).

    It receives either the trace's record with its ended spans, which it must pass to
    :func:`take_spans` or :func:`drop`, or a root span that ended detached, the trace's only span
    (see :func:`detached_record`).
    """
    global _sink
    _sink = sink


def last_trace_id(*, thread_local: bool = False) -> str | None:
    """Return the id of the last trace finished in this process (or in this thread)."""
    if thread_local:
        return _last_in_thread.trace_id
    return _last_trace_id


def _claimed_record(entry: InProgressTrace | LiveSpan) -> InProgressTrace:
    """The record of a trace just taken out of ``_in_progress`` to be evicted or forgotten.

    Made, closed, if the trace was detached: its root span ending now is late.
    """
    return entry if isinstance(entry, InProgressTrace) else _attach(entry, closed=True)


def _started_ns(entry: InProgressTrace | LiveSpan) -> int:
    return entry.started_ns if isinstance(entry, InProgressTrace) else entry._start_time_ns


def _evict_stale(now_ns: int) -> None:
    limit = SETTINGS.max_in_progress_traces
    deadline = now_ns - SETTINGS.in_progress_timeout_s * 1e9
    while _in_progress:
        try:
            trace_id, oldest = next(iter(_in_progress.items()))
        except (StopIteration, RuntimeError):  # another thread changed the dict; try next time
            return
        if len(_in_progress) < limit and _started_ns(oldest) > deadline:
            return
        entry = _in_progress.pop(trace_id, None)
        if entry is not None:  # what is there now: trace_of may have replaced the span
            _evict(
                _claimed_record(entry),
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
        entry = _in_progress.pop(trace_id, None)
        if entry is not None:
            _evict(_claimed_record(entry), "the program exited first")


def clear_in_progress() -> None:
    """Forget every trace in progress without exporting it (test isolation)."""
    global _last_trace_id
    while _in_progress:
        try:
            _trace_id, entry = _in_progress.popitem()
        except KeyError:  # emptied by another thread meanwhile
            break
        _claimed_record(entry).closed = True
    _last_trace_id = _last_in_thread.trace_id = None


def find_in_progress(trace_id: str) -> InProgressTrace | None:
    """Return this process's unfinished trace with this id, if any (distributed tracing joins it).

    A detached trace gets its record now; it is closed if its root span ended meanwhile.
    """
    entry = _in_progress.get(trace_id)
    if entry is None or isinstance(entry, InProgressTrace):
        return entry
    return trace_of(entry)


def discard_in_progress(trace: InProgressTrace) -> None:
    """Close a trace without exporting it: a remote trace's part that recorded no span here."""
    trace.closed = True
    if _in_progress.get(trace.trace_id) is trace:
        _in_progress.pop(trace.trace_id, None)


def in_progress_count() -> int:
    """Return how many traces are in progress."""
    return len(_in_progress)

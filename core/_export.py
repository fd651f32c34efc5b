"""The background export thread: finished traces are built and exported off the caller's thread.

The queue is bounded. When it is full, new traces are dropped and counted (one warning), so a slow or
broken destination can never block or slow the traced program. ``flush()`` and interpreter exit drain it.
"""

from __future__ import annotations

import atexit
import functools
import os
from _thread import allocate_lock
from collections import deque

from tracewire._constants import (
    MAX_CHARS_IN_TRACE_INFO_METADATA,
    TRACE_SCHEMA_VERSION,
    SpanAttributeKey,
    TraceMetadataKey,
    TraceTagKey,
)
from tracewire._destinations import MemoryDestination, TraceDestination, TracesDropped
from tracewire._errors import log, strict_mode, warn_once
from tracewire._json import dumps
from tracewire._preview import preview, truncate
from tracewire._span import LiveSpan, Span
from tracewire._status import TraceState
from tracewire._token_usage import aggregate_token_usage
from tracewire._trace import Trace, TraceData, TraceInfo
from tracewire._trace_manager import (
    InProgressTrace,
    detached_record,
    drop,
    evict_all_in_progress,
    set_sink,
    take_spans,
)
from tracewire._tracking import DeferredDestination

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Sequence
    from typing import Any

    from tracewire._trace_manager import Finished

_BATCH_SIZE = 256
# Constants read once per exported trace, bound here to spare class-attribute and enum lookups.
_SCHEMA_VERSION_KEY = TraceMetadataKey.SCHEMA_VERSION
_SCHEMA_VERSION = str(TRACE_SCHEMA_VERSION)
_TOKEN_USAGE_KEY = TraceMetadataKey.TOKEN_USAGE
_TRACE_NAME_KEY = TraceTagKey.TRACE_NAME
_STATE_UNSPECIFIED = TraceState.STATE_UNSPECIFIED
# How long the export thread lets traces accumulate before it exports them. Each round takes the
# GIL from the traced program, and on a CPU-bound program a hand-off costs that thread far more
# than the round's own work (caches refilled after the other core ran): in the Anthropic
# benchmark, 10 ms rounds cost the caller about three points more CPU than 200 ms rounds. Reads in
# this process flush first, so only other processes (the CLI on the same store) see the delay.
_GATHER_S = 0.2
_IDLE_CHECK_S = 1.0
# The root span's inputs and outputs: where they go in metadata, and whose message they preview.
_ROOT_IO = (
    (SpanAttributeKey.INPUTS, TraceMetadataKey.INPUTS, "user"),
    (SpanAttributeKey.OUTPUTS, TraceMetadataKey.OUTPUTS, "assistant"),
)


def build_trace(record: InProgressTrace, spans: Sequence[Any]) -> Trace:
    """Build the finished trace from its bookkeeping record and its ended spans.

    Token totals and previews are read from the live spans' values (no JSON decoding); each attribute
    is encoded to JSON exactly once, here, on the export thread.

    Args:
        record: The trace's in-progress record (tags, metadata, overrides set by the user).
        spans: The ended spans (live, or already immutable for evicted traces), in start order.

    Returns:
        The trace, with previews, token totals and MLflow's standard metadata filled in.
    """
    finished = [span.to_immutable_span() if isinstance(span, LiveSpan) else span for span in spans]
    root_index = _root_index(record, spans)

    metadata = {_SCHEMA_VERSION_KEY: _SCHEMA_VERSION}
    tags: dict[str, str] = {}
    request_time = 0
    duration = None
    state = record.state or _STATE_UNSPECIFIED
    previews = {"user": record.request_preview, "assistant": record.response_preview}
    if finished:
        root, live_root = finished[root_index], spans[root_index]
        for attribute_key, metadata_key, role in _ROOT_IO:
            value_json = root._attributes.get(attribute_key)
            if value_json is None:
                continue
            metadata[metadata_key] = truncate(value_json, MAX_CHARS_IN_TRACE_INFO_METADATA)
            if previews[role] is None:
                load = functools.partial(_decoded_attribute, live_root, attribute_key)
                previews[role] = preview(value_json, load, role)
        tags[_TRACE_NAME_KEY] = root._name
        request_time = root._start_time_ns // 1_000_000
        if root._end_time_ns is not None:
            duration = (root._end_time_ns - root._start_time_ns) // 1_000_000
        if record.state is None:
            state = TraceState.from_span_status(root.status)
    if record.metadata:
        metadata.update(record.metadata)
    usage = aggregate_token_usage(spans)
    if usage is not None:
        metadata[_TOKEN_USAGE_KEY] = dumps(usage)
    if record.tags:
        tags.update(record.tags)
    info = TraceInfo(
        trace_id=record.trace_id,
        request_time=request_time,
        state=state,
        experiment_id=record.experiment_id,
        request_preview=previews["user"],
        response_preview=previews["assistant"],
        client_request_id=record.client_request_id,
        execution_duration=duration,
        trace_metadata=metadata,
        tags=tags,
    )
    return Trace(info, TraceData(finished))


def _decoded_attribute(span: Any, key: str) -> Any:
    """The value of a span's attribute, for reading only: the one decoded with its text if kept."""
    try:
        return span._attributes[key].decoded
    except (KeyError, AttributeError):  # an immutable span's plain text, or nothing kept
        return span.get_attribute(key)


def _root_index(record: InProgressTrace, spans: Sequence[Any]) -> int:
    """Position of the root span: first, unless an evicted trace lost it."""
    root = record.root
    if root is None or not spans or spans[0].span_id == root._span_id:
        return 0
    for index, span in enumerate(spans):
        if span.span_id == root._span_id:
            return index
    return 0


class Exporter:
    """A bounded queue drained by one daemon thread into a :class:`TraceDestination`.

    Args:
        destination: Where finished traces go.
        max_queue_size: Traces waiting beyond this are dropped and counted. Defaults to
            ``TRACEWIRE_EXPORT_QUEUE_SIZE`` or 10,000.
    """

    def __init__(
        self, destination: TraceDestination | None = None, max_queue_size: int | None = None
    ) -> None:
        if max_queue_size is None:
            max_queue_size = int(os.environ.get("TRACEWIRE_EXPORT_QUEUE_SIZE", "10000") or 10000)
        self.destination: TraceDestination = destination or MemoryDestination()
        self.max_queue_size = max(1, max_queue_size)
        self.exported = 0
        self.dropped = 0
        self._queue: deque[Any] = deque()
        # `threading` is imported when the first trace finishes, not by `import tracewire`.
        self._wakeup: threading.Event | None = None
        self._hurry: threading.Event  # created with the thread
        self._thread: threading.Thread | None = None
        self._start_lock = allocate_lock()
        self._strict_errors: list[BaseException] = []
        self._busy = False  # the export thread is polling: producers need not wake it
        self._sending = 0  # traces of the batch the destination is exporting now

    def submit(self, record: Finished) -> None:
        """Queue a finished trace for export. Never blocks; drops and counts when the queue is full.

        Args:
            record: The trace's record, or its root span alone if it ended detached (see
                ``_trace_manager.set_sink``).
        """
        if len(self._queue) >= self.max_queue_size:
            drop(record)
            self.dropped += 1
            warn_once(
                "export-queue-full",
                "tracewire export queue is full (%d traces); dropping traces until it drains. "
                "Raise TRACEWIRE_EXPORT_QUEUE_SIZE or check the destination",
                self.max_queue_size,
            )
            return
        queue = self._queue
        queue.append(record)
        # Waking the export thread costs the caller a futex call and a GIL hand-off, so it is woken
        # only when work appears while it idles, or when a full batch is waiting. While traces keep
        # coming it is busy polling on its own and needs no wake-up.
        waiting = len(queue)
        if waiting == 1 and not self._busy:
            wakeup = self._wakeup or self._start()
            if wakeup is not None and not wakeup.is_set():
                wakeup.set()
        elif waiting % _BATCH_SIZE == 0 and self._wakeup is not None:
            # A full batch is waiting: export it now rather than at the end of the gathering.
            self._hurry.set()
            self._wakeup.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every trace queued so far has reached the destination.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as needed.

        Returns:
            ``True`` if the queue drained in time.

        Raises:
            Exception: In strict mode, the first internal error the export thread hit.
        """
        thread, wakeup = self._thread, self._wakeup
        if thread is not None and wakeup is not None and thread.is_alive():
            import threading  # noqa: PLC0415 - already loaded: the export thread runs

            done = threading.Event()
            self._queue.append(done)
            self._hurry.set()
            wakeup.set()
            drained = done.wait(timeout)
        else:
            self._drain()
            drained = True
        if self._strict_errors:
            error = self._strict_errors.pop(0)
            self._strict_errors.clear()
            raise error
        return drained

    def _start(self) -> threading.Event | None:
        import threading  # noqa: PLC0415 - deferred until the first trace finishes

        with self._start_lock:
            if self._wakeup is None:
                self._hurry = threading.Event()
                wakeup = threading.Event()
                thread = threading.Thread(
                    target=self._run, args=(wakeup,), name="tracewire-export", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError:  # interpreter shutdown: the exit flush drains inline
                    return None
                self._wakeup = wakeup
                self._thread = thread
            return self._wakeup

    def _run(self, wakeup: threading.Event) -> None:
        hurry = self._hurry
        while True:
            # The timeout is a safety net for a wake-up lost between two producers.
            wakeup.wait(_IDLE_CHECK_S)
            wakeup.clear()
            # Busy: drain every _GATHER_S until a round finds nothing, without wake-ups.
            self._busy = True
            while True:
                if not hurry.is_set():
                    hurry.wait(_GATHER_S)  # let a burst accumulate; flush() cuts this short
                hurry.clear()
                if not self._queue:
                    break
                self._drain()
            self._busy = False
            if self._queue:  # queued just before _busy fell: its producer did not wake us
                wakeup.set()

    def _drain(self) -> None:
        batch: list[Trace] = []
        while self._queue:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            spans: Sequence[LiveSpan | Span]
            if isinstance(item, LiveSpan):  # a root span that ended detached: the trace's only span
                record, spans = detached_record(item), (item,)
            elif isinstance(item, InProgressTrace):
                record, spans = item, take_spans(item)
            else:  # a flush marker (threading.Event)
                self._export(batch)
                batch = []
                item.set()
                continue
            try:
                batch.append(build_trace(record, spans))
            except Exception as error:  # noqa: BLE001 - never kill the export thread
                self._internal_error(error, "building a finished trace")
            if len(batch) >= _BATCH_SIZE:
                self._export(batch)
                batch = []
        self._export(batch)

    def _export(self, batch: list[Trace]) -> None:
        if not batch:
            return
        self._sending = len(batch)  # lost, and counted, if the process exits before it is sent
        try:
            self.destination.export(batch)
        except TracesDropped as drop:  # already retried and reported by the destination
            self.dropped += drop.count
            self.exported += len(batch) - drop.count
            return
        except Exception as error:  # noqa: BLE001 - a failing destination must not kill the thread
            self.dropped += len(batch)
            self._internal_error(error, f"exporting traces to {type(self.destination).__name__}")
            return
        finally:
            self._sending = 0
        self.exported += len(batch)

    def _internal_error(self, error: Exception, where: str) -> None:
        if strict_mode():
            self._strict_errors.append(error)
            return
        warn_once(
            f"export:{where}",
            "tracewire internal error while %s: %s: %s",
            where,
            type(error).__name__,
            error,
        )

    def at_exit(self) -> None:
        """Export unfinished traces as ERROR, drain the queue, shut the destination down."""
        timeout = float(os.environ.get("TRACEWIRE_EXIT_FLUSH_TIMEOUT", "5") or 5)
        try:
            # What was recorded in traces that never finished is exported too, marked ERROR.
            evict_all_in_progress()
            if not self.flush(timeout):
                # The export thread is a daemon: what it holds or has queued dies with it.
                lost = self._sending + sum(
                    isinstance(item, (InProgressTrace, LiveSpan)) for item in list(self._queue)
                )
                self.dropped += lost
                log().warning(
                    "tracewire: %d traces were not exported within %.1fs of exit and are lost",
                    lost,
                    timeout,
                )
            self.destination.shutdown()
        except Exception:  # noqa: BLE001 - never fail interpreter shutdown
            log().debug("tracewire exit flush failed", exc_info=True)

    def reset_after_fork(self) -> None:
        """Forget the parent's thread and queue in a forked child."""
        self._queue = deque()
        self._wakeup = None
        self._thread = None
        self._busy = False
        self._start_lock = allocate_lock()
        self.destination.reset_after_fork()


# The tracking URI's destination is built on the first export or read, not at import.
EXPORTER = Exporter(DeferredDestination())
set_sink(EXPORTER.submit)
atexit.register(EXPORTER.at_exit)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=EXPORTER.reset_after_fork)


def set_destination(destination: TraceDestination) -> None:
    """Send traces finished from now on to ``destination`` (pending ones are flushed first)."""
    previous = swap_destination(destination)
    if previous is not destination:
        previous.shutdown()


def swap_destination(destination: TraceDestination) -> TraceDestination:
    """Like :func:`set_destination`, but return the previous destination instead of shutting it down.

    Args:
        destination: Where traces finished from now on go.

    Returns:
        The previous destination, still open, for the caller to restore later.
    """
    EXPORTER.flush()
    previous = EXPORTER.destination
    EXPORTER.destination = destination
    return previous

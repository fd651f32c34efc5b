"""The one context variable holding the active span, and span creation on top of it.

asyncio tasks inherit the context, so spans nest across ``await``. Threads do not: submit work with
``contextvars.copy_context().run`` to keep a worker's spans inside the caller's trace.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from tracewire._config import SETTINGS
from tracewire._ids import getrandbits, new_span_id, sample
from tracewire._span import NO_OP_SPAN, LiveSpan, NoOpSpan
from tracewire._trace_manager import _evict_stale, _in_progress, trace_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_time_ns = time.time_ns
_new_object = object.__new__

ACTIVE_SPAN: ContextVar[LiveSpan | NoOpSpan | None] = ContextVar(
    "tracewire_active_span", default=None
)


def begin_span(
    name: str,
    parent: LiveSpan | NoOpSpan | None,
    attributes: dict[str, Any],
    start_time_ns: int | None = None,
    span: LiveSpan | None = None,
) -> LiveSpan | NoOpSpan:
    """Create a span under ``parent`` (a new trace when ``parent`` is ``None``).

    This is the hot path shared by every entry point. It does no I/O and takes no lock; the first
    span started under a detached root span makes that trace's record (``trace_of``).

    Args:
        name: The span name.
        parent: The parent span; a :class:`NoOpSpan` parent means "not recording" and is inherited.
        attributes: Initial attributes, already snapshotted, owned by the new span from now on.
        start_time_ns: Start time; defaults to now.
        span: The object to make the span, not set up as one yet: an instance of a subclass of
            :class:`LiveSpan` whose instances are spans and more (an SDK call is its own span).
            ``None`` makes a plain ``LiveSpan``.

    Returns:
        The new live span, or the no-op span when tracing is disabled, suppressed or sampled out.
    """
    if not SETTINGS.enabled or parent is NO_OP_SPAN:
        return NO_OP_SPAN
    if start_time_ns is None:
        start_time_ns = _time_ns()
    # The span is made with object.__new__ and set up by calling its __init__ as a function, not
    # by calling its class: before CPython 3.13 a class call runs __init__ in an evaluation loop
    # of its own (a C-level call), where a function called from Python runs in the caller's.
    if parent is None:
        ratio = SETTINGS.sampling_ratio
        if ratio < 1.0 and sample() >= ratio:
            return NO_OP_SPAN
        if span is None:
            span = _new_object(LiveSpan)
        # What _ids.new_root_ids does, inline: a function call less on every traced call.
        digits = getrandbits(192).to_bytes(24, "little").hex()
        trace_id = "tr-" + digits[:32]
        # A detached root: its trace's record is made when a second span joins (trace_of).
        LiveSpan.__init__(span, None, trace_id, digits[32:], None, name, start_time_ns, attributes)
        # Registered as its trace in progress (see _trace_manager), inline: this runs on every
        # traced call.
        if _in_progress:
            _evict_stale(start_time_ns)
        _in_progress[trace_id] = span
        return span
    trace = parent._trace  # type: ignore[union-attr]
    if trace is None:
        trace = trace_of(parent)  # type: ignore[arg-type]
    if span is None:
        span = _new_object(LiveSpan)
    LiveSpan.__init__(
        span,
        trace,
        trace.trace_id,
        new_span_id(),
        parent._span_id,  # type: ignore[union-attr]
        name,
        start_time_ns,
        attributes,
    )
    if not trace.closed:  # else started after its trace finished: not exported
        trace.spans.append(span)
    return span

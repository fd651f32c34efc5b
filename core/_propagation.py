"""Distributed tracing: one trace across processes, carried by the W3C ``traceparent`` HTTP header.

The client sends ``get_tracing_context_headers_for_http_request()`` with its request; the server
wraps its handler in ``set_tracing_context_from_http_request_headers(request.headers)``. Spans the
server starts there join the client's trace id, with the client's span as their parent.

The server records its part of the trace without a local root span: the caller's span is stood for
by a :class:`RemoteParentSpan` that is active in the block but never exported. That part is exported
when the block has exited and every span started directly under the remote parent has ended (a
streamed response may end its span after the handler returned). A store merges the parts that
several processes export under one trace id.
"""

from __future__ import annotations

import time
from _thread import allocate_lock

from tracewire._config import SETTINGS
from tracewire._context import ACTIVE_SPAN
from tracewire._errors import warn_once
from tracewire._guards import guard
from tracewire._ids import new_root_ids
from tracewire._span import NO_OP_SPAN, LiveSpan
from tracewire._trace_manager import InProgressTrace, discard_in_progress, find_in_progress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token
    from types import TracebackType
    from typing import Any

    from tracewire._span import NoOpSpan

TRACEPARENT = "traceparent"
_HEX_DIGITS = frozenset("0123456789abcdef")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16
_REMOTE_PARENT_NAME = "(remote parent)"
# Serializes joining or creating the local part of a remote trace: concurrent requests carrying
# one trace id (a client fanning out) must share one part, not race to create two.
_join_lock = allocate_lock()


def parse_traceparent(value: str) -> tuple[str, str, bool] | None:
    """Read a W3C ``traceparent`` value (``version-traceid-parentid-flags``).

    Follows the W3C Trace Context rules a receiver must apply: lowercase hex only, all-zero ids and
    version ``ff`` are invalid, version ``00`` has exactly four fields, and a later version may
    append fields after the four it shares with ``00``.

    Args:
        value: The header value.

    Returns:
        ``(trace_id, parent_span_id, sampled)`` with the trace id in tracewire's ``tr-`` form, or
        ``None`` when the value is malformed.
    """
    parts = value.strip().split("-")
    if len(parts) < 4:
        return None
    version, trace_hex, span_hex, flags = parts[:4]
    if version == "00" and len(parts) != 4:
        return None
    fields = ((version, 2), (trace_hex, 32), (span_hex, 16), (flags, 2))
    if any(len(text) != size or not _HEX_DIGITS.issuperset(text) for text, size in fields):
        return None
    if version == "ff" or trace_hex == _INVALID_TRACE_ID or span_hex == _INVALID_SPAN_ID:
        return None
    return "tr-" + trace_hex, span_hex, bool(int(flags, 16) & 1)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def traceparent_values(headers: Any) -> list[str]:
    """Collect the distinct ``traceparent`` values of any header collection, ignoring key case.

    Args:
        headers: A mapping (``dict``, ``http.client.HTTPMessage``, Flask's, Starlette's or
            ``requests``' case-insensitive headers, ...) or an iterable of ``(key, value)`` pairs
            with ``str`` or ``bytes`` items (ASGI's raw headers).

    Returns:
        The values found, duplicates removed, in order.

    Raises:
        TypeError: If ``headers`` is neither a mapping nor an iterable of pairs.
    """
    items = getattr(headers, "items", None)
    if callable(items):
        pairs = items()
    elif isinstance(headers, (str, bytes)) or not hasattr(headers, "__iter__"):
        raise TypeError(
            "headers must be a mapping of HTTP headers or an iterable of (name, value) pairs, "
            f"got {type(headers).__name__}"
        )
    else:
        pairs = headers
    values: list[str] = []
    for pair in pairs:
        try:
            key, value = pair
        except (TypeError, ValueError):
            raise TypeError(f"headers must hold (name, value) pairs, got {pair!r}") from None
        if _text(key).lower() != TRACEPARENT:
            continue
        # A multi-valued mapping holds a list per key; each entry is one header line.
        for item in value if isinstance(value, (list, tuple)) else (value,):
            text = _text(item)
            if text not in values:
                values.append(text)
    return values


class RemoteParentSpan(LiveSpan):
    """Stands for the caller's span in another process, as the parent of spans started here.

    Active inside :func:`set_tracing_context_from_http_request_headers`, never exported and never
    ended here (its own process does that); ``get_current_active_span()`` does not return it.
    """

    __slots__ = ()

    def end(
        self,
        outputs: Any | None = None,
        attributes: Mapping[str, Any] | None = None,
        status: Any = None,
        end_time_ns: int | None = None,
    ) -> None:
        """Do nothing: the remote span belongs to the process that started it."""


class RemoteTrace(InProgressTrace):
    """This process's part of a trace whose root span lives in another process.

    It is finished (exported) once every block that joined it has exited and every span started
    directly under a remote parent has ended.
    """

    def __init__(self, trace_id: str, started_ns: int) -> None:
        super().__init__(trace_id, started_ns)
        self.remote_parent_ids: set[str] = set()
        self.open_blocks = 0
        self.lock = allocate_lock()

    def span_ended(self, span: LiveSpan) -> None:
        """Finish the part when its last top-level span ends after the blocks exited."""
        if self.closed or span._parent_id not in self.remote_parent_ids:
            super().span_ended(span)  # a nested span: nothing to do; or a late one: warned
            return
        self.finish_if_done()

    def finish_if_done(self) -> None:
        """Export the part if no block is open and no top-level span is still running."""
        with self.lock:
            if self.closed or self.open_blocks:
                return
            parents = self.remote_parent_ids
            if any(s._end_time_ns is None and s._parent_id in parents for s in self.spans):
                return
            if not self.spans:  # nothing was recorded here: an empty trace would only be noise
                discard_in_progress(self)
                return
            assert self.root is not None  # set to the first remote parent when joined
            super().span_ended(self.root)


def _join(trace_id: str, parent_span_id: str) -> tuple[RemoteParentSpan, RemoteTrace | None]:
    """Make the remote span a parent here, in this process's part of its trace.

    Returns:
        The remote parent, and the part it opened a block in (``None`` when the trace is already in
        progress locally, e.g. a client calling its own process: its root span finishes it).
    """
    now = time.time_ns()
    with _join_lock:
        record = find_in_progress(trace_id)
        if isinstance(record, RemoteTrace):
            with record.lock:
                if not record.closed:
                    record.open_blocks += 1
                    record.remote_parent_ids.add(parent_span_id)
                    parent = RemoteParentSpan(
                        record, trace_id, parent_span_id, None, _REMOTE_PARENT_NAME, now, {}
                    )
                    return parent, record
        elif record is not None and not record.closed:
            return RemoteParentSpan(
                record, trace_id, parent_span_id, None, _REMOTE_PARENT_NAME, now, {}
            ), None
        remote = RemoteTrace(trace_id, now)
        parent = RemoteParentSpan(
            remote, trace_id, parent_span_id, None, _REMOTE_PARENT_NAME, now, {}
        )
        remote.root = parent
        remote.open_blocks = 1
        remote.remote_parent_ids.add(parent_span_id)
        return parent, remote


class _RemoteContextScope:
    """Context manager behind :func:`set_tracing_context_from_http_request_headers`."""

    __slots__ = ("_headers", "_remote", "_token")

    def __init__(self, headers: Any) -> None:
        self._headers = headers
        self._token: Token[LiveSpan | NoOpSpan | None] | None = None
        self._remote: RemoteTrace | None = None

    def __enter__(self) -> None:
        if self._token is not None:
            raise RuntimeError("this tracing context block is already active; create a new one")
        values = traceparent_values(self._headers)
        if not values:
            warn_once(
                "traceparent-missing",
                "set_tracing_context_from_http_request_headers(): the request has no 'traceparent' "
                "header, so spans in this block start a new trace. Send the headers from "
                "get_tracing_context_headers_for_http_request() with the request",
            )
            return
        parsed = parse_traceparent(values[0]) if len(values) == 1 else None
        if parsed is None:
            warn_once(
                "traceparent-malformed",
                "set_tracing_context_from_http_request_headers(): ignoring the malformed "
                "'traceparent' %r (W3C format: 00-<32 hex trace id>-<16 hex span id>-<2 hex "
                "flags>); spans in this block start a new trace",
                ", ".join(values)[:200],
            )
            return
        trace_id, parent_span_id, sampled = parsed
        if not sampled:  # the caller decided not to record this trace: neither do we
            self._token = ACTIVE_SPAN.set(NO_OP_SPAN)
        elif SETTINGS.enabled:
            # A bug of ours here must not fail the request: the block then runs untraced.
            with guard("continuing a trace from a request's headers"):
                parent, self._remote = _join(trace_id, parent_span_id)
                self._token = ACTIVE_SPAN.set(parent)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                ACTIVE_SPAN.reset(token)
            except ValueError:  # exited in another context than entered
                ACTIVE_SPAN.set(None)
        remote, self._remote = self._remote, None
        if remote is not None:
            with guard("ending a request's part of a distributed trace"):
                with remote.lock:
                    remote.open_blocks -= 1
                remote.finish_if_done()


def set_tracing_context_from_http_request_headers(headers: Any) -> _RemoteContextScope:
    """Continue the caller's trace inside a ``with`` block, from its request's headers.

    Spans started in the block belong to the trace named by the W3C ``traceparent`` header, with
    the caller's span as their parent. The header name is matched in any case (``traceparent``,
    ``Traceparent``, ...). If the caller's trace is not sampled (flags ``00``), nothing is recorded
    in the block.

    A missing or malformed header is not an error: it comes from the network, and a request from an
    uninstrumented client must not fail the handler. One warning is logged and spans in the block
    start a new trace, as the W3C specification asks of a receiver.

    Args:
        headers: The request's headers: a mapping (``dict``, ``http.client.HTTPMessage``, Flask's,
            Starlette's, ...), or an iterable of ``(name, value)`` pairs of ``str`` or ``bytes``.

    Returns:
        A context manager.

    Raises:
        TypeError: On entering, if ``headers`` is neither a mapping nor an iterable of pairs.

    Example:
        >>> def do_POST(self):  # an http.server handler
        ...     with set_tracing_context_from_http_request_headers(self.headers):
        ...         with tracewire.start_span("handle") as span:
        ...             ...
    """
    return _RemoteContextScope(headers)


def get_tracing_context_headers_for_http_request() -> dict[str, str]:
    """Return the headers that carry the active trace to another process: ``{"traceparent": ...}``.

    The header names the active span as the parent of the spans the receiver starts. Outside any
    span, one warning is logged and ``{}`` is returned, as MLflow does. When the active trace is
    not recorded (tracing disabled, suppressed or sampled out), the header says so (flags ``00``)
    and the receiver records nothing for the request either.

    Returns:
        The HTTP headers to add to the outgoing request.

    Example:
        >>> with tracewire.start_span("client"):
        ...     headers = get_tracing_context_headers_for_http_request()
        ...     requests.post(url, json=payload, headers=headers)
    """
    span = ACTIVE_SPAN.get()
    if span is None:
        warn_once(
            "traceparent-no-span",
            "get_tracing_context_headers_for_http_request() was called outside any span; "
            "returning no headers",
        )
        return {}
    if isinstance(span, LiveSpan):
        return {TRACEPARENT: f"00-{span._trace_id.removeprefix('tr-')}-{span._span_id}-01"}
    trace_id, span_id = new_root_ids()  # not recorded: fresh ids, sampled flag off
    return {TRACEPARENT: f"00-{trace_id.removeprefix('tr-')}-{span_id}-00"}

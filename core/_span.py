"""Spans: :class:`Span` (finished, immutable), :class:`LiveSpan` (being recorded) and :class:`NoOpSpan`.

Attribute values follow MLflow: a finished span stores each attribute as JSON text and decodes it on
read. A live span stores cheap snapshots (see :mod:`tracewire._json`) and encodes them only when the
trace is exported, on the background thread.
"""

from __future__ import annotations

import binascii
import time

from tracewire._config import SETTINGS
from tracewire._constants import NO_OP_SPAN_TRACE_ID, TRACE_REQUEST_ID_PREFIX, SpanAttributeKey
from tracewire._errors import report_internal_error, warn_once
from tracewire._json import dumps, loads, snapshot, thaw
from tracewire._span_event import SpanEvent
from tracewire._status import SpanStatus, SpanStatusCode
from tracewire._trace_manager import finish_detached

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from tracewire._trace_manager import InProgressTrace

    #: Computes attributes of an ended span from what its call returned; see ``LiveSpan._record_later``.
    Derivation = Callable[[], Mapping[str, Any]]


_UNSET_CODE = SpanStatusCode.UNSET
_UNSET_STATUS = SpanStatus(_UNSET_CODE)
_time_ns = time.time_ns
_OK_STATUS = SpanStatus(SpanStatusCode.OK)
_INPUTS = SpanAttributeKey.INPUTS
_OUTPUTS = SpanAttributeKey.OUTPUTS
_PRIMITIVES = (str, bool, int, float)


def _id_to_base64(hex_id: str) -> str:
    return binascii.b2a_base64(bytes.fromhex(hex_id), newline=False).decode("ascii")


def _id_from_wire(value: str | None, hex_length: int) -> str | None:
    """Read an id that MLflow writes as base64 of its bytes (older versions wrote hex)."""
    if not value:
        return None
    text = value.removeprefix("0x")
    if len(text) == hex_length:
        try:
            int(text, 16)
        except ValueError:
            pass
        else:
            return text.lower()
    import base64  # noqa: PLC0415 - read path only; keeps `import tracewire` light

    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value


def _trace_hex(trace_id: str) -> str:
    return trace_id.removeprefix(TRACE_REQUEST_ID_PREFIX)


def _event_attribute(value: Any) -> Any:
    """Coerce an event attribute to a value OpenTelemetry accepts (a primitive or a list of them)."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, _PRIMITIVES) for item in value):
        return list(value)
    return dumps(value)


class Span:
    """A finished span of a trace. Immutable: read it, never change it.

    Spans come from :meth:`tracewire.entities.Trace.search_spans`, ``trace.data.spans`` and
    :meth:`LiveSpan.to_immutable_span`.
    """

    __slots__ = (
        "_attributes",
        "_decoded",
        "_end_time_ns",
        "_events",
        "_name",
        "_parent_id",
        "_span_id",
        "_start_time_ns",
        "_status",
        "_trace_id",
    )

    def __init__(
        self,
        *,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        name: str,
        start_time_ns: int,
        end_time_ns: int | None,
        status: SpanStatus,
        attributes: dict[str, str],
        events: Sequence[SpanEvent],
    ) -> None:
        self._trace_id = trace_id
        self._span_id = span_id
        self._parent_id = parent_id
        self._name = name
        self._start_time_ns = start_time_ns
        self._end_time_ns = end_time_ns
        self._status = status
        self._attributes = attributes
        self._events = events
        self._decoded: dict[str, Any] = {}

    @property
    def trace_id(self) -> str:
        """The trace id (``tr-`` plus 32 hex digits)."""
        return self._trace_id

    @property
    def request_id(self) -> str:
        """Deprecated alias of :attr:`trace_id`, kept for MLflow compatibility."""
        return self._trace_id

    @property
    def span_id(self) -> str:
        """The span id (16 hex digits)."""
        return self._span_id

    @property
    def parent_id(self) -> str | None:
        """The parent span's id, or ``None`` for a root span."""
        return self._parent_id

    @property
    def name(self) -> str:
        """The span name."""
        return self._name

    @property
    def start_time_ns(self) -> int:
        """Start time, nanoseconds since the epoch."""
        return self._start_time_ns

    @property
    def end_time_ns(self) -> int | None:
        """End time, nanoseconds since the epoch (``None`` while the span is live)."""
        return self._end_time_ns

    @property
    def status(self) -> SpanStatus:
        """The span status."""
        return self._status

    @property
    def events(self) -> list[SpanEvent]:
        """Events recorded on the span, in order."""
        return list(self._events)

    @property
    def attributes(self) -> dict[str, Any]:
        """All attributes, decoded from JSON."""
        return {key: self.get_attribute(key) for key in self._attributes}

    def get_attribute(self, key: str) -> Any:
        """Return the decoded value of attribute ``key``, or ``None`` if it is not set."""
        try:
            return self._decoded[key]
        except KeyError:
            pass
        raw = self._attributes.get(key)
        value = None if raw is None else loads(raw)
        self._decoded[key] = value
        return value

    @property
    def inputs(self) -> Any:
        """The span inputs."""
        return self.get_attribute(SpanAttributeKey.INPUTS)

    @property
    def outputs(self) -> Any:
        """The span outputs."""
        return self.get_attribute(SpanAttributeKey.OUTPUTS)

    @property
    def span_type(self) -> str | None:
        """The span type (a :class:`~tracewire.entities.SpanType` constant or a custom string)."""
        value = self.get_attribute(SpanAttributeKey.SPAN_TYPE)
        return None if value is None else str(value)

    @property
    def model_name(self) -> str | None:
        """The model that served an LLM span (attribute ``mlflow.llm.model``)."""
        value = self.get_attribute(SpanAttributeKey.MODEL)
        return None if value is None else str(value)

    @property
    def llm_cost(self) -> dict[str, float] | None:
        """The cost of an LLM span in USD (attribute ``mlflow.llm.cost``), if recorded."""
        value = self.get_attribute(SpanAttributeKey.LLM_COST)
        return value if isinstance(value, dict) else None

    def _encoded_attributes(self) -> dict[str, str]:
        return dict(self._attributes)

    def to_dict(self) -> dict[str, Any]:
        """Return the span as MLflow's OTLP-style dict (base64 ids, JSON-string attributes)."""
        return {
            "trace_id": _id_to_base64(_trace_hex(self._trace_id)),
            "span_id": _id_to_base64(self._span_id),
            "parent_span_id": _id_to_base64(self._parent_id) if self._parent_id else None,
            "name": self._name,
            "start_time_unix_nano": self._start_time_ns,
            "end_time_unix_nano": self._end_time_ns,
            "events": [
                {
                    "name": event.name,
                    "time_unix_nano": event.timestamp,
                    "attributes": {
                        key: _event_attribute(value) for key, value in event.attributes.items()
                    },
                }
                for event in self._events
            ],
            "status": self._status.to_dict(),
            "attributes": self._encoded_attributes(),
            "links": [],
            "kind": "SPAN_KIND_INTERNAL",
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Span:
        """Read a span dict written by :meth:`to_dict` or by MLflow (V3, or the legacy V2 shape).

        Args:
            data: The span dict.

        Returns:
            The span.

        Raises:
            ValueError: If a required field is missing.
        """
        try:
            if "context" in data:  # MLflow 2.x span shape
                context = data["context"]
                span_id = _id_from_wire(context["span_id"], 16)
                wire_trace_id = _id_from_wire(context["trace_id"], 32)
                parent_id = _id_from_wire(data.get("parent_id"), 16)
                start, end = data["start_time"], data.get("end_time")
                status_data = data.get("status") or {}
            else:
                span_id = _id_from_wire(data["span_id"], 16)
                wire_trace_id = _id_from_wire(data["trace_id"], 32)
                parent_id = _id_from_wire(data.get("parent_span_id"), 16)
                start, end = data["start_time_unix_nano"], data.get("end_time_unix_nano")
                status_data = data.get("status") or {}
            raw_attributes = data.get("attributes") or {}
        except KeyError as missing:
            raise ValueError(f"span dict is missing the required field {missing}") from None
        attributes = {
            key: value if isinstance(value, str) else dumps(value)
            for key, value in raw_attributes.items()
        }
        request_id = loads(attributes.get(SpanAttributeKey.REQUEST_ID, "null"))
        trace_id = request_id if isinstance(request_id, str) else f"tr-{wire_trace_id}"
        attributes.setdefault(SpanAttributeKey.REQUEST_ID, dumps(trace_id))
        if isinstance(status_data, str):
            status = SpanStatus(status_data)
        else:
            status = SpanStatus.from_dict(status_data)
        return cls(
            trace_id=trace_id,
            span_id=span_id or "",
            parent_id=parent_id,
            name=str(data.get("name", "")),
            start_time_ns=int(start),
            end_time_ns=int(end) if end is not None else None,
            status=status,
            attributes=attributes,
            events=[SpanEvent.from_dict(event) for event in data.get("events") or []],
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self._name!r}, trace_id={self._trace_id!r}, "
            f"span_id={self._span_id!r}, parent_id={self._parent_id!r})"
        )


class LiveSpan(Span):
    """A span being recorded. Returned by ``start_span`` and ``get_current_active_span``.

    Setters take effect until :meth:`end` is called; after that the span is frozen and further
    changes are ignored with a logged warning.
    """

    __slots__ = ("_later", "_trace")

    def __init__(
        self,
        trace: InProgressTrace | None,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        name: str,
        start_time_ns: int,
        attributes: dict[str, Any],
    ) -> None:
        # Span.__init__ is skipped on purpose: this runs once per span on the caller's thread.
        #: The trace's record; ``None`` for a root span whose record is not made yet (see
        #: ``_trace_manager.trace_of``).
        self._trace = trace
        self._trace_id = trace_id
        self._span_id = span_id
        self._parent_id = parent_id
        self._name = name
        self._start_time_ns = start_time_ns
        self._end_time_ns = None
        self._status = _UNSET_STATUS
        # Unlike a finished span's JSON texts, the values as recorded (snapshots, derived values).
        self._attributes: dict[str, Any] = attributes
        # Most spans have no event: the list is made with the first one.
        self._events: Sequence[SpanEvent] = ()
        # One pending derivation, or a tuple of them in the order they were given.
        self._later: Derivation | tuple[Derivation, ...] | None = None

    def _record_later(self, derive: Derivation) -> None:
        """Have attributes computed by ``derive()`` when first read, at the latest on export.

        For values an integration derives from what a call returned (outputs, token usage, the
        model that answered): the caller's thread only keeps ``derive``; the work runs on the
        export thread, or earlier if something reads the span first. ``derive`` must read only
        data nobody changes afterwards (request and response bytes, the integration's own
        state). Call it before :meth:`end`. Pending derivations run in the order they were
        given; a later one's keys win.

        Args:
            derive: Returns the attributes to set (key to value), as new JSON-ready values that
                nothing else references (they are kept as they are); a key it leaves out is not
                set, so an absent count stays absent. Its exceptions are reported like any internal
                error, and the span keeps everything else.
        """
        pending = self._later
        if pending is None:
            self._later = derive
        elif isinstance(pending, tuple):
            self._later = (*pending, derive)
        else:
            self._later = (pending, derive)

    def _resolve(self) -> None:
        """Run the pending ``_record_later`` derivations, if any (on whichever thread reads first)."""
        pending = self._later
        if pending is None:
            return
        self._later = None  # a second reader racing this one derives the same values again
        for derive in pending if isinstance(pending, tuple) else (pending,):
            try:
                values = derive()
            except Exception:  # noqa: BLE001 - reported by policy; the rest of the span is kept
                report_internal_error("recording a call's result")
                continue
            # Derived values are new objects, decoded from bytes or built from the integration's
            # own state: nothing else holds them, so unlike values handed in by user code they
            # need no copy.
            self._attributes.update(values)

    @property
    def attributes(self) -> dict[str, Any]:
        """All attributes set so far (values as a reader of the finished trace will see them)."""
        if self._later is not None:
            self._resolve()
        attributes = {SpanAttributeKey.REQUEST_ID: self._trace_id}
        attributes.update({key: thaw(value) for key, value in self._attributes.items()})
        return attributes

    def get_attribute(self, key: str) -> Any:
        """Return the value of attribute ``key``, or ``None`` if it is not set."""
        if key == SpanAttributeKey.REQUEST_ID:
            return self._trace_id
        if self._later is not None:
            self._resolve()
        return thaw(self._attributes.get(key))

    def _encoded_attributes(self) -> dict[str, str]:
        if self._later is not None:
            self._resolve()
        encoded = {SpanAttributeKey.REQUEST_ID: dumps(self._trace_id)}
        for key, value in list(self._attributes.items()):
            encoded[key] = dumps(value)
        return encoded

    def _frozen(self, what: str) -> bool:
        if self._end_time_ns is None:
            return False
        warn_once(
            f"frozen:{what}",
            "ignoring %s on span %r: the span has already ended",
            what,
            self._name,
        )
        return True

    # The setters test _end_time_ns before calling _frozen: they run on every traced call.

    def set_inputs(self, inputs: Any) -> None:
        """Record the span's inputs."""
        if self._end_time_ns is None or not self._frozen("set_inputs"):
            self._attributes[_INPUTS] = snapshot(inputs)

    def set_outputs(self, outputs: Any) -> None:
        """Record the span's outputs."""
        if self._end_time_ns is None or not self._frozen("set_outputs"):
            self._attributes[_OUTPUTS] = snapshot(outputs)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute; any JSON-encodable value (and most others) is accepted.

        Args:
            key: The attribute key (``SpanAttributeKey`` constants for MLflow's standard keys).
            value: The value.
        """
        if not isinstance(key, str):
            warn_once(  # type: ignore[unreachable]  # callers without type checking
                "attribute-key",
                "ignoring span attribute with non-string key %r; keys must be str",
                key,
            )
            return
        if self._end_time_ns is None or not self._frozen("set_attribute"):
            self._attributes[key] = snapshot(value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes at once (added to those already set)."""
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_span_type(self, span_type: str) -> None:
        """Set the span type (a :class:`~tracewire.entities.SpanType` constant or a custom string)."""
        if not self._frozen("set_span_type"):
            self._attributes[SpanAttributeKey.SPAN_TYPE] = str(span_type)

    def set_status(self, status: SpanStatus | SpanStatusCode | str) -> None:
        """Set the status: a :class:`SpanStatus`, a :class:`SpanStatusCode`, or ``"OK"``/``"ERROR"``.

        Raises:
            ValueError: If ``status`` names no status code.
        """
        if self._frozen("set_status"):
            return
        self._status = status if isinstance(status, SpanStatus) else SpanStatus(status)

    def add_event(self, event: SpanEvent) -> None:
        """Append an event to the span.

        Raises:
            TypeError: If ``event`` is not a :class:`SpanEvent`.
        """
        if not isinstance(event, SpanEvent):
            raise TypeError(f"add_event() takes a SpanEvent, got {type(event).__name__}")
        if not self._frozen("add_event"):
            self._events = [*self._events, event]

    def record_exception(self, exception: BaseException | str) -> None:
        """Record an ``exception`` event and set the status to ERROR.

        Args:
            exception: The exception, or a message when there is no exception object.
        """
        if self._frozen("record_exception"):
            return
        if not isinstance(exception, BaseException):
            exception = Exception(str(exception))  # MLflow records a bare message this way too
        self._events = [*self._events, SpanEvent.from_exception(exception)]
        self._status = SpanStatus(SpanStatusCode.ERROR, f"{type(exception).__name__}: {exception}")

    def end(
        self,
        outputs: Any | None = None,
        attributes: Mapping[str, Any] | None = None,
        status: SpanStatus | SpanStatusCode | str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        """End the span. Only the first call has an effect.

        Span processors (``tracewire.tracing.configure``) run here, before the span freezes. Ending
        the root span finishes the trace and hands it to the exporter.

        Args:
            outputs: Outputs to record, if not set already.
            attributes: Attributes to add.
            status: Final status; an UNSET status becomes OK.
            end_time_ns: End time in nanoseconds since the epoch; defaults to now.
        """
        if self._end_time_ns is not None:
            return
        if outputs is not None:
            self.set_outputs(outputs)
        if attributes:
            self.set_attributes(attributes)
        if status is not None:
            self.set_status(status)
        if self._status is _UNSET_STATUS or self._status.status_code is _UNSET_CODE:
            self._status = _OK_STATUS
        if SETTINGS.span_processors:
            if self._later is not None:
                self._resolve()  # processors see (and may redact) every attribute
            self._run_processors()
        self._end_time_ns = _time_ns() if end_time_ns is None else int(end_time_ns)
        trace = self._trace
        if trace is None:
            finish_detached(self)
        else:
            trace.span_ended(self)

    def _run_processors(self) -> None:
        for processor in SETTINGS.span_processors:
            try:
                result = processor(self)
            except Exception:  # noqa: BLE001 - a user's processor must not break tracing
                name = getattr(processor, "__name__", repr(processor))
                warn_once(
                    f"processor:{name}",
                    "span processor %s raised; it is skipped for this span",
                    name,
                )
                continue
            if result is not None:
                name = getattr(processor, "__name__", repr(processor))
                warn_once(
                    f"processor-return:{name}",
                    "span processor %s returned a value; processors must modify the span in place",
                    name,
                )

    def to_immutable_span(self) -> Span:
        """Return a finished, immutable copy of this span (its attributes encoded to JSON)."""
        return Span(
            trace_id=self._trace_id,
            span_id=self._span_id,
            parent_id=self._parent_id,
            name=self._name,
            start_time_ns=self._start_time_ns,
            end_time_ns=self._end_time_ns,
            status=self._status,
            attributes=self._encoded_attributes(),
            events=list(self._events),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the span as MLflow's OTLP-style dict."""
        return self.to_immutable_span().to_dict()

    def __reduce__(self) -> Any:
        raise TypeError("a LiveSpan cannot be pickled; use to_immutable_span() or to_dict()")


class NoOpSpan:
    """The span returned when tracing is disabled, suppressed or sampled out: every method does nothing.

    Attributes and ids are ``None``; :attr:`trace_id` is MLflow's no-op sentinel string.
    """

    __slots__ = ()

    trace_id = NO_OP_SPAN_TRACE_ID
    request_id = NO_OP_SPAN_TRACE_ID
    span_id = None
    parent_id = None
    name = None
    start_time_ns = None
    end_time_ns = None
    status = None
    inputs = None
    outputs = None
    span_type = None
    model_name = None
    llm_cost = None

    @property
    def attributes(self) -> dict[str, Any]:
        """Always empty."""
        return {}

    @property
    def events(self) -> list[SpanEvent]:
        """Always empty."""
        return []

    def get_attribute(self, key: str) -> None:
        """Return ``None``."""

    def set_inputs(self, inputs: Any) -> None:
        """Do nothing."""

    def set_outputs(self, outputs: Any) -> None:
        """Do nothing."""

    def set_attribute(self, key: str, value: Any) -> None:
        """Do nothing."""

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Do nothing."""

    def set_span_type(self, span_type: str) -> None:
        """Do nothing."""

    def set_status(self, status: Any) -> None:
        """Do nothing."""

    def add_event(self, event: SpanEvent) -> None:
        """Do nothing."""

    def record_exception(self, exception: BaseException | str) -> None:
        """Do nothing."""

    def end(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing."""

    def __repr__(self) -> str:
        return "NoOpSpan()"


NO_OP_SPAN = NoOpSpan()

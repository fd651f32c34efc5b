"""Finished traces: :class:`Trace` = :class:`TraceInfo` + :class:`TraceData`, in MLflow 3's shape."""

from __future__ import annotations

import time

from tracewire._constants import DEFAULT_EXPERIMENT_ID, SpanAttributeKey, TraceMetadataKey
from tracewire._json import loads
from tracewire._span import Span
from tracewire._status import TraceState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Mapping
    from typing import Any


def _rfc3339_from_ms(ms: int) -> str:
    """Format milliseconds as protobuf's JSON ``Timestamp`` does, which MLflow writes.

    protobuf leaves the fraction out on a whole second, so tracewire does too: otherwise one
    trace in a thousand would serialize differently from MLflow's copy of it.
    """
    seconds, millis = divmod(ms, 1000)
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{millis:03d}Z" if millis else f"{whole}Z"


def _ms_from_wire(value: Any) -> int:
    """Read a timestamp as MLflow writes it (RFC 3339 text) or as integer milliseconds."""
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    if text.isdigit():
        return int(text)
    from datetime import datetime, timezone  # noqa: PLC0415 - read path only

    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def _duration_ms_from_wire(value: Any) -> int | None:
    """Read a duration as integer milliseconds or protobuf JSON text such as ``"0.114s"``."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    if text.endswith("s"):
        return round(float(text[:-1]) * 1000)
    return int(float(text))


class TraceInfo:
    """Metadata of a trace: id, timing, state, previews, tags, metadata and token usage.

    Args:
        trace_id: ``tr-`` plus 32 hex digits.
        request_time: Start of the trace, milliseconds since the epoch.
        state: The trace state.
        experiment_id: The MLflow experiment the trace belongs to (``"0"`` by default).
        request_preview: Short summary of the root span's inputs.
        response_preview: Short summary of the root span's outputs.
        client_request_id: An id the application attached to the trace.
        execution_duration: Duration of the root span in milliseconds.
        trace_metadata: Immutable string metadata (token totals live here).
        tags: Mutable string tags.
        assessments: Feedback and expectations (kept as given; empty by default).
    """

    def __init__(
        self,
        trace_id: str,
        request_time: int,
        state: TraceState | str,
        *,
        experiment_id: str = DEFAULT_EXPERIMENT_ID,
        request_preview: str | None = None,
        response_preview: str | None = None,
        client_request_id: str | None = None,
        execution_duration: int | None = None,
        trace_metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        assessments: list[Any] | None = None,
    ) -> None:
        self.trace_id = trace_id
        self.request_time = int(request_time)
        self.state = state if isinstance(state, TraceState) else TraceState(str(state))
        self.experiment_id = experiment_id
        self.request_preview = request_preview
        self.response_preview = response_preview
        self.client_request_id = client_request_id
        self.execution_duration = execution_duration
        self.trace_metadata: dict[str, str] = dict(trace_metadata or {})
        self.tags: dict[str, str] = dict(tags or {})
        self.assessments: list[Any] = list(assessments or [])

    # MLflow's aliases, so code written against MLflow 2.x and 3.x keeps working.
    @property
    def request_id(self) -> str:
        """Alias of :attr:`trace_id`."""
        return self.trace_id

    @property
    def timestamp_ms(self) -> int:
        """Alias of :attr:`request_time`."""
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        """Alias of :attr:`execution_duration`."""
        return self.execution_duration

    @property
    def request_metadata(self) -> dict[str, str]:
        """Alias of :attr:`trace_metadata`."""
        return self.trace_metadata

    @property
    def status(self) -> TraceState:
        """Alias of :attr:`state`."""
        return self.state

    @property
    def trace_location(self) -> dict[str, Any]:
        """Where the trace lives, in MLflow's shape (an experiment)."""
        return {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": self.experiment_id},
        }

    @property
    def token_usage(self) -> dict[str, int] | None:
        """Token totals of the whole trace (nested LLM spans counted once), or ``None``."""
        raw = self.trace_metadata.get(TraceMetadataKey.TOKEN_USAGE)
        if raw is None:
            return None
        value = loads(raw)
        return value if isinstance(value, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """Return the info as MLflow's proto-JSON dict (empty fields omitted)."""
        data: dict[str, Any] = {
            "trace_id": self.trace_id,
            "client_request_id": self.client_request_id,
            "trace_location": self.trace_location,
            "request_time": _rfc3339_from_ms(self.request_time),
            "state": self.state.value,
            "trace_metadata": dict(self.trace_metadata),
            "tags": dict(self.tags),
            "request_preview": self.request_preview,
            "response_preview": self.response_preview,
            "execution_duration_ms": self.execution_duration,
        }
        if self.assessments:
            data["assessments"] = [
                a.to_dictionary() if hasattr(a, "to_dictionary") else a for a in self.assessments
            ]
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TraceInfo:
        """Read an info dict written by :meth:`to_dict` or by MLflow (V3, or V2 with ``request_id``).

        Raises:
            ValueError: If the trace id or request time is missing.
        """
        trace_id = data.get("trace_id") or data.get("request_id")
        request_time = data.get("request_time", data.get("timestamp_ms"))
        if not trace_id or request_time is None:
            raise ValueError("trace info dict needs 'trace_id' and 'request_time'")
        location = data.get("trace_location") or {}
        experiment_id = (location.get("mlflow_experiment") or {}).get("experiment_id") or data.get(
            "experiment_id", DEFAULT_EXPERIMENT_ID
        )
        state = data.get("state") or data.get("status") or TraceState.STATE_UNSPECIFIED
        if state not in TraceState.__members__ and state not in list(TraceState):
            state = TraceState.STATE_UNSPECIFIED
        duration = data.get("execution_duration_ms", data.get("execution_duration"))
        if duration is None:
            duration = data.get("execution_time_ms")
        metadata = data.get("trace_metadata", data.get("request_metadata")) or {}
        tags = data.get("tags") or {}
        if isinstance(tags, list):  # MLflow 2.x wrote [{"key": ..., "value": ...}]
            tags = {item["key"]: item["value"] for item in tags}
        return cls(
            trace_id=str(trace_id),
            request_time=_ms_from_wire(request_time),
            state=TraceState(state),
            experiment_id=str(experiment_id),
            request_preview=data.get("request_preview"),
            response_preview=data.get("response_preview"),
            client_request_id=data.get("client_request_id"),
            execution_duration=_duration_ms_from_wire(duration),
            trace_metadata={str(k): str(v) for k, v in dict(metadata).items()},
            tags={str(k): str(v) for k, v in dict(tags).items()},
            assessments=list(data.get("assessments") or []),
        )

    def __repr__(self) -> str:
        return (
            f"TraceInfo(trace_id={self.trace_id!r}, state={self.state.value!r}, "
            f"request_time={self.request_time}, execution_duration={self.execution_duration})"
        )


class TraceData:
    """The spans of a trace, root first.

    Args:
        spans: The spans.
    """

    def __init__(self, spans: list[Span] | None = None) -> None:
        self.spans: list[Span] = list(spans or [])

    def _root(self) -> Span | None:
        ids = {span.span_id for span in self.spans}
        for span in self.spans:
            if span.parent_id is None or span.parent_id not in ids:
                return span
        return None

    @property
    def request(self) -> str | None:
        """The root span's inputs as raw JSON text (MLflow's shape)."""
        root = self._root()
        return None if root is None else root._encoded_attributes().get(SpanAttributeKey.INPUTS)

    @property
    def response(self) -> str | None:
        """The root span's outputs as raw JSON text (MLflow's shape)."""
        root = self._root()
        return None if root is None else root._encoded_attributes().get(SpanAttributeKey.OUTPUTS)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"spans": [...]}`` with MLflow's span dicts."""
        return {"spans": [span.to_dict() for span in self.spans]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TraceData:
        """Read ``{"spans": [...]}``."""
        return cls([Span.from_dict(span) for span in data.get("spans") or []])

    def __repr__(self) -> str:
        return f"TraceData(spans={self.spans!r})"


class Trace:
    """A finished trace.

    Args:
        info: The trace metadata.
        data: The spans.
    """

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data

    @property
    def trace_id(self) -> str:
        """The trace id."""
        return self.info.trace_id

    def search_spans(
        self,
        span_type: str | None = None,
        name: str | re.Pattern[str] | None = None,
        span_id: str | None = None,
    ) -> list[Span]:
        """Find spans by type, name (exact string, or a regular expression searched) and/or id.

        Args:
            span_type: Keep spans of this type.
            name: Keep spans with this exact name, or whose name matches this compiled pattern.
            span_id: Keep the span with this id.

        Returns:
            Matching spans in trace order.

        Raises:
            TypeError: If ``name`` is neither a string nor a compiled pattern.
        """
        if name is not None and not isinstance(name, str):
            import re  # noqa: PLC0415 - only needed (and already loaded) when a pattern is passed

            if not isinstance(name, re.Pattern):
                raise TypeError(f"name must be a str or re.Pattern, got {type(name).__name__}")
        matches = []
        for span in self.data.spans:
            if span_type is not None and span.span_type != span_type:
                continue
            if span_id is not None and span.span_id != span_id:
                continue
            if isinstance(name, str) and span.name != name:
                continue
            if name is not None and not isinstance(name, str) and not name.search(span.name):
                continue
            matches.append(span)
        return matches

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"info": ..., "data": {"spans": [...]}}`` in MLflow's shape."""
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        """Return :meth:`to_dict` as JSON text, indented when ``pretty``."""
        import json  # noqa: PLC0415 - json pulls in `re`; keep it out of `import tracewire`

        return json.dumps(self.to_dict(), indent=2 if pretty else None, ensure_ascii=False)

    @classmethod
    def from_dict(cls, trace_dict: Mapping[str, Any]) -> Trace:
        """Read a dict written by :meth:`to_dict` or by MLflow's ``Trace.to_dict``.

        Raises:
            ValueError: If the dict does not have the ``info`` and ``data`` parts.
        """
        from collections.abc import Mapping  # noqa: PLC0415 - read path only

        if not isinstance(trace_dict, Mapping):
            # A malformed payload is a bad value, as in MLflow.
            raise ValueError(  # noqa: TRY004
                f"a trace dict is required, got {type(trace_dict).__name__}"
            )
        info, data = trace_dict.get("info"), trace_dict.get("data")
        if not isinstance(info, Mapping) or not isinstance(data, Mapping):
            raise ValueError(  # noqa: TRY004 - a malformed payload is a bad value
                "a trace dict needs an 'info' mapping and a 'data' mapping"
            )
        return cls(TraceInfo.from_dict(info), TraceData.from_dict(data))

    @classmethod
    def from_json(cls, trace_json: str) -> Trace:
        """Read JSON text written by :meth:`to_json` or by MLflow.

        Raises:
            ValueError: If the text is not JSON or not a trace.
        """
        try:
            import json  # noqa: PLC0415 - read path only

            data = json.loads(trace_json)
        except (TypeError, ValueError) as error:
            raise ValueError(f"not valid trace JSON: {error}") from None
        return cls.from_dict(data)

    def __repr__(self) -> str:
        return f"Trace(trace_id={self.trace_id!r}, spans={len(self.data.spans)})"

"""Span status and trace state, with MLflow's values and wire spellings."""

from __future__ import annotations

from enum import Enum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class SpanStatusCode(str, Enum):
    """Outcome of a span. ``UNSET`` becomes ``OK`` when the span ends."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"

    def to_otel_string(self) -> str:
        """Return the OTLP/MLflow wire spelling, e.g. ``STATUS_CODE_OK``."""
        return f"STATUS_CODE_{self.value}"

    @classmethod
    def parse(cls, value: SpanStatusCode | str) -> SpanStatusCode:
        """Read a status code from an enum member, ``"OK"`` or ``"STATUS_CODE_OK"`` (any case).

        Args:
            value: The code to read.

        Returns:
            The matching member.

        Raises:
            ValueError: If ``value`` names no status code.
        """
        if isinstance(value, SpanStatusCode):
            return value
        if isinstance(value, str):
            text = value.strip().upper().removeprefix("STATUS_CODE_")
            if text in cls.__members__:
                return cls[text]
        raise ValueError(
            f"{value!r} is not a span status code; use one of 'OK', 'ERROR', 'UNSET' "
            "or a SpanStatusCode member"
        )


class SpanStatus:
    """A span's status code plus an optional description (usually the error message)."""

    __slots__ = ("description", "status_code")

    def __init__(self, status_code: SpanStatusCode | str, description: str = "") -> None:
        self.status_code = SpanStatusCode.parse(status_code)
        self.description = description or ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanStatus):
            return NotImplemented
        return (self.status_code, self.description) == (other.status_code, other.description)

    def __hash__(self) -> int:
        return hash((self.status_code, self.description))

    def __repr__(self) -> str:
        return (
            f"SpanStatus(status_code={self.status_code.value!r}, description={self.description!r})"
        )

    def to_dict(self) -> dict[str, str]:
        """Return the OTLP-style status dict MLflow writes (``{"code": ..., "message": ...}``)."""
        return {"code": self.status_code.to_otel_string(), "message": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanStatus:
        """Read a status dict in the shape :meth:`to_dict` writes (or MLflow's older variants).

        Args:
            data: ``{"code": ..., "message": ...}`` or ``{"status_code": ..., "description": ...}``.

        Returns:
            The status.
        """
        code = data.get("code", data.get("status_code", SpanStatusCode.UNSET))
        message = data.get("message", data.get("description", "")) or ""
        return cls(code, message)


class TraceState(str, Enum):
    """State of a whole trace, derived from the root span unless set explicitly."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    @classmethod
    def from_span_status(cls, status: SpanStatus) -> TraceState:
        """Map a root span status to the trace state."""
        if status.status_code is SpanStatusCode.ERROR:
            return cls.ERROR
        if status.status_code is SpanStatusCode.OK:
            return cls.OK
        return cls.IN_PROGRESS

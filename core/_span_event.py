"""Timestamped events attached to a span, such as a recorded exception."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    AttributeValue = str | bool | int | float | list[str] | list[bool] | list[int] | list[float]


class SpanEvent:
    """Something that happened at a point in time during a span.

    Args:
        name: The event name.
        timestamp: Nanoseconds since the epoch; defaults to now.
        attributes: Plain OpenTelemetry-style values (str, bool, int, float or lists of them).
    """

    __slots__ = ("attributes", "name", "timestamp")

    def __init__(
        self,
        name: str,
        timestamp: int | None = None,
        attributes: dict[str, AttributeValue] | None = None,
    ) -> None:
        self.name = name
        self.timestamp = time.time_ns() if timestamp is None else int(timestamp)
        self.attributes: dict[str, AttributeValue] = dict(attributes or {})

    @classmethod
    def from_exception(cls, exception: BaseException) -> SpanEvent:
        """Build the standard ``exception`` event (message, type and stack trace).

        Args:
            exception: The exception to describe.

        Returns:
            An event named ``exception``.
        """
        import traceback  # noqa: PLC0415 - exception path only; keeps `import tracewire` light

        stacktrace = "".join(
            traceback.format_exception(type(exception), exception, exception.__traceback__)
        ).strip()
        return cls(
            name="exception",
            attributes={
                "exception.message": str(exception),
                "exception.type": type(exception).__name__,
                "exception.stacktrace": stacktrace,
            },
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanEvent):
            return NotImplemented
        return (self.name, self.timestamp, self.attributes) == (
            other.name,
            other.timestamp,
            other.attributes,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like MLflow's dataclass

    def __repr__(self) -> str:
        return (
            f"SpanEvent(name={self.name!r}, timestamp={self.timestamp}, "
            f"attributes={self.attributes!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the OTLP-style event dict MLflow writes."""
        return {
            "name": self.name,
            "time_unix_nano": self.timestamp,
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanEvent:
        """Read an event dict written by :meth:`to_dict` or by MLflow."""
        timestamp = data.get("time_unix_nano", data.get("timestamp"))
        return cls(
            name=data["name"],
            timestamp=int(timestamp) if timestamp is not None else None,
            attributes=dict(data.get("attributes") or {}),
        )

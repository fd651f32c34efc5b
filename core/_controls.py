"""Process-wide switches: enable or disable tracing, and configure span processors."""

from __future__ import annotations

from tracewire._config import SETTINGS, validate_span_processors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from tracewire._config import SpanProcessor


def enable() -> None:
    """Turn tracing on (the default): decorated functions and ``start_span`` record spans again."""
    SETTINGS.enabled = True


def disable() -> None:
    """Turn tracing off process-wide: spans become no-ops, at a cost of well under a microsecond."""
    SETTINGS.enabled = False


def is_enabled() -> bool:
    """Return whether tracing is on."""
    return SETTINGS.enabled


class _ConfigurationScope:
    """Returned by :func:`configure`; as a context manager it restores the previous settings."""

    __slots__ = ("_previous",)

    def __init__(self, previous: tuple[SpanProcessor, ...]) -> None:
        self._previous = previous

    def __enter__(self) -> _ConfigurationScope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        SETTINGS.span_processors = self._previous


def configure(span_processors: Sequence[SpanProcessor] | None = None) -> _ConfigurationScope:
    """Configure tracing. Applies at once; used as a context manager, it is undone on exit.

    Args:
        span_processors: Functions called with each :class:`~tracewire.entities.LiveSpan` just
            before it ends, in order, to redact or enrich it in place. A processor that raises is
            logged and skipped. ``None`` leaves the processors unchanged; ``[]`` removes them.

    Returns:
        A context manager that restores the previous configuration on exit.

    Raises:
        TypeError: If a processor is not a callable taking exactly one argument.

    Example:
        >>> def redact(span):
        ...     span.set_inputs("<redacted>")
        >>> tracewire.tracing.configure(span_processors=[redact])
    """
    previous = SETTINGS.span_processors
    if span_processors is not None:
        SETTINGS.span_processors = validate_span_processors(span_processors)
    return _ConfigurationScope(previous)

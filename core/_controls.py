"""Switches: tracing on or off process-wide, span processors, and context-local suppression."""

from __future__ import annotations

from tracewire._config import SETTINGS, validate_span_processors
from tracewire._context import ACTIVE_SPAN
from tracewire._span import NO_OP_SPAN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from contextvars import Token
    from types import TracebackType

    from tracewire._config import SpanProcessor
    from tracewire._span import LiveSpan, NoOpSpan


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


class suppress:  # lowercase: reads as a function at the call site, `with suppress():`
    """Record nothing inside the block, in the current context only.

    Unlike :func:`disable`, this touches no global state: other threads and other asyncio tasks
    keep tracing while one request, job or test runs untraced. Decorated functions,
    ``start_span`` blocks and autologged SDK calls inside the block record nothing; a span started
    with an explicit live ``parent_span`` still records. Nested blocks, and blocks inside a span,
    restore the previous state on exit.

    Example:
        >>> with tracewire.tracing.suppress():
        ...     client.chat.completions.create(...)  # not traced
    """

    __slots__ = ("_token",)

    def __init__(self) -> None:
        self._token: Token[LiveSpan | NoOpSpan | None] | None = None

    def __enter__(self) -> None:
        if self._token is not None:
            raise RuntimeError("this suppress() block is already active; create a new one")
        self._token = ACTIVE_SPAN.set(NO_OP_SPAN)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is not None:
            ACTIVE_SPAN.reset(token)

"""Run tracing code around a host call without ever changing what the host call does.

The SDK call itself sits outside every ``try`` that could swallow its exception; only our own
pre- and post-processing is guarded, and our errors are reported by policy (logged, or raised under
``TRACEWIRE_STRICT=1``).
"""

from __future__ import annotations

from contextlib import suppress

from tracewire._context import ACTIVE_SPAN
from tracewire._errors import log_internal_error, report_internal_error, strict_mode
from tracewire._span import LiveSpan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType
    from typing import Any, TypeVar

    from tracewire._span import NoOpSpan

    R = TypeVar("R")
    SpanStarter = Callable[[], LiveSpan | NoOpSpan | None]
    SpanFinisher = Callable[[LiveSpan, Any], Any]
    SpanFailer = Callable[[LiveSpan], None]


class guard:  # lowercase: used like a function, `with guard("..."):`
    """Context manager that reports exceptions raised by tracewire's own code inside it.

    Outside strict mode the exception is logged (once per ``where``) and swallowed, so the host
    program carries on; under ``TRACEWIRE_STRICT=1`` it propagates. Never put the host call itself
    inside a ``guard``.

    Args:
        where: What the block does, for the log line, e.g. ``"recording chat inputs"``.

    Example:
        >>> with guard("recording inputs"):
        ...     span.set_inputs(kwargs)
    """

    __slots__ = ("_where",)

    def __init__(self, where: str) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if exc is None or not isinstance(exc, Exception) or strict_mode():
            return False
        log_internal_error(self._where, exc)
        return True


def _start(start: SpanStarter) -> LiveSpan | NoOpSpan | None:
    try:
        return start()
    except Exception:  # noqa: BLE001 - reported by policy; the host call still runs
        report_internal_error("starting an integration span")
        return None


def _record_failure(
    span: LiveSpan | NoOpSpan, error: BaseException, failed: SpanFailer | None
) -> None:
    if not isinstance(span, LiveSpan):
        return
    try:
        if failed is not None:
            failed(span)
        span.record_exception(error)
        span.end()
    except Exception:  # noqa: BLE001 - reported by policy; the host's exception still propagates
        report_internal_error("recording a failed call")


def _finish(span: LiveSpan | NoOpSpan, result: Any, finish: SpanFinisher | None) -> Any:
    if not isinstance(span, LiveSpan):
        return result  # not recording (suppressed, disabled, sampled out)
    try:
        if finish is None:
            span.end(outputs=result)
            return result
        return finish(span, result)
    except Exception:  # noqa: BLE001 - reported by policy; the caller gets the host's result
        with suppress(Exception):  # the original error is the one worth reporting
            span.end()  # first, so that even strict mode leaves no span open
        report_internal_error("recording a call's result")
        return result


def trace_call(
    wrapped: Callable[..., R],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    start: SpanStarter,
    finish: SpanFinisher | None = None,
    failed: SpanFailer | None = None,
) -> R:
    """Call ``wrapped(*args, **kwargs)`` inside a span, returning or raising exactly what it does.

    Use it in a :meth:`Patcher.wrap <tracewire.integration.Patcher.wrap>` wrapper. The span is
    active during the call, so spans the host code starts nest under it.

    Args:
        wrapped: The original function.
        args: Its positional arguments, unchanged.
        kwargs: Its keyword arguments, unchanged.
        start: Starts the span (typically with
            :func:`~tracewire.start_span_no_context`) and sets its inputs. If it raises or returns
            ``None``, the call runs untraced.
        finish: Records the result on the span and returns what the caller receives. The default
            sets the result as outputs and ends the span. Return a stream proxy that owns the span
            to trace a stream; then do not end the span here. If ``finish`` raises, the span is
            ended and the caller gets the original result.
        failed: Records what it must on the span when the host call raised, before the span
            records the exception and ends.

    Returns:
        The host call's result, or what ``finish`` returned.

    Raises:
        BaseException: Whatever the host call raises, the same object, after the span recorded it.
    """
    span = _start(start)
    if span is None:
        return wrapped(*args, **kwargs)
    token = ACTIVE_SPAN.set(span)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as error:
        ACTIVE_SPAN.reset(token)
        _record_failure(span, error, failed)
        raise
    ACTIVE_SPAN.reset(token)
    return _finish(span, result, finish)  # type: ignore[no-any-return]


async def trace_async_call(
    wrapped: Callable[..., Awaitable[R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    start: SpanStarter,
    finish: SpanFinisher | None = None,
    failed: SpanFailer | None = None,
) -> R:
    """Await ``wrapped(*args, **kwargs)`` inside a span; the coroutine twin of :func:`trace_call`.

    Args:
        wrapped: The original coroutine function.
        args: Its positional arguments, unchanged.
        kwargs: Its keyword arguments, unchanged.
        start: As in :func:`trace_call`.
        finish: As in :func:`trace_call`; it is a plain (non-async) function.
        failed: As in :func:`trace_call`.

    Returns:
        The awaited result, or what ``finish`` returned.

    Raises:
        BaseException: Whatever the host call raises (cancellation included), the same object.
    """
    span = _start(start)
    if span is None:
        return await wrapped(*args, **kwargs)
    token = ACTIVE_SPAN.set(span)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as error:
        ACTIVE_SPAN.reset(token)
        _record_failure(span, error, failed)
        raise
    ACTIVE_SPAN.reset(token)
    return _finish(span, result, finish)  # type: ignore[no-any-return]

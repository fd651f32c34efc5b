"""Responses obtained through ``with_raw_response`` / ``with_streaming_response``.

The caller gets the SDK's raw response object and decides when its body is read. tracewire never
reads it behind their back: the span stays open until the caller's ``parse()`` returns (then the
parsed result is recorded, or its stream is traced to the end), or until the response is closed or
dropped unparsed (then the span ends without outputs or usage, because nobody read them).
"""

from __future__ import annotations

import sys

import wrapt

from tracewire._errors import report_internal_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from tracewire._span import LiveSpan

    OnParsed = Callable[[LiveSpan, Any], Any]

_NOT_YET = object()


class _RawResponseProxyBase(wrapt.ObjectProxy):  # type: ignore[type-arg]
    """Span bookkeeping shared by the sync and async raw-response proxies."""

    def __init__(self, raw: Any, span: LiveSpan, on_parsed: OnParsed) -> None:
        super().__init__(raw)
        self._self_span = span
        self._self_on_parsed = on_parsed
        self._self_parsed: Any = _NOT_YET
        self._self_result: Any = None

    def __del__(self) -> None:
        if getattr(self, "_self_parsed", None) is _NOT_YET and not sys.is_finalizing():
            self._self_end_unread()

    def _self_take(self, parsed: Any) -> Any:
        """Record the first parse's result; later parses of the same object get the same answer."""
        if parsed is self._self_parsed:
            return self._self_result
        if self._self_parsed is not _NOT_YET:
            return parsed  # parse(to=OtherType): the span already has its result
        self._self_parsed = parsed
        try:
            self._self_result = self._self_on_parsed(self._self_span, parsed)
        except Exception:  # noqa: BLE001 - reported by policy; the caller gets the SDK's result
            self._self_result = parsed
            self._self_end_unread()
            report_internal_error("recording a raw response")
        return self._self_result

    def _self_end_unread(self) -> None:
        span = self._self_span
        if self._self_parsed is _NOT_YET:
            self._self_parsed = None
        if span.end_time_ns is None:
            try:
                span.end()
            except Exception:  # noqa: BLE001 - reported by policy
                report_internal_error("ending a raw response's span")


class RawResponseProxy(_RawResponseProxyBase):
    """Wraps ``LegacyAPIResponse`` (stream requests) and ``APIResponse`` for the caller.

    Args:
        raw: The SDK's raw response.
        span: The call's span, which the proxy now owns.
        on_parsed: Records a parsed result on the span and returns what the caller receives
            (a stream proxy for streams).
    """

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the body as the SDK does, and record the result on the span."""
        return self._self_take(self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> Any:
        """Close the response; a span whose body was never parsed ends now."""
        try:
            return self.__wrapped__.close()
        finally:
            if self._self_parsed is _NOT_YET:
                self._self_end_unread()


class AsyncRawResponseProxy(_RawResponseProxyBase):
    """Wraps ``AsyncAPIResponse``, whose ``parse()`` and ``close()`` are coroutines.

    Args:
        raw: The SDK's raw response.
        span: The call's span, which the proxy now owns.
        on_parsed: As for :class:`RawResponseProxy`.
    """

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the body as the SDK does, and record the result on the span."""
        return self._self_take(await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> Any:
        """Close the response; a span whose body was never parsed ends now."""
        try:
            return await self.__wrapped__.close()
        finally:
            if self._self_parsed is _NOT_YET:
                self._self_end_unread()

"""Record an Anthropic ``Message`` on its span: outputs, token usage, model and stop reason."""

from __future__ import annotations

from tracewire._responses import encoded, usage_and_model
from tracewire.anthropic._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan

#: OpenTelemetry GenAI semantic conventions' name for the reasons a response stopped (a list).
FINISH_REASONS = "gen_ai.response.finish_reasons"


def record_stop_reason(span: LiveSpan, stop_reason: Any) -> None:
    """Set ``gen_ai.response.finish_reasons`` to ``[stop_reason]`` when the message has one."""
    if isinstance(stop_reason, str) and stop_reason:
        span.set_attribute(FINISH_REASONS, [stop_reason])


def record_message(span: LiveSpan, message: Any, request_model: Any) -> None:
    """Record a whole (non-streamed) message: outputs, usage, model, stop reason; not the end.

    Args:
        span: The call's span.
        message: The SDK's ``Message`` (or ``BetaMessage``), or anything else the call returned.
        request_model: The ``model`` argument of the request.
    """
    counts = token_usage(getattr(message, "usage", None))
    model = getattr(message, "model", None)
    for key, value in usage_and_model(counts, model, request_model).items():
        span.set_attribute(key, value)
    record_stop_reason(span, getattr(message, "stop_reason", None))
    span.set_outputs(encoded(message))

"""Record an Anthropic ``Message`` on its span: outputs, token usage, model and stop reason."""

from __future__ import annotations

from tracewire._responses import body_attributes, encoded, usage_and_model
from tracewire.anthropic._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan

#: OpenTelemetry GenAI semantic conventions' name for the reasons a response stopped (a list).
FINISH_REASONS = "gen_ai.response.finish_reasons"


def add_finish_reasons(attributes: dict[str, Any], stop_reason: Any) -> None:
    """Set ``gen_ai.response.finish_reasons`` to ``[stop_reason]`` when the message has one."""
    if isinstance(stop_reason, str) and stop_reason:
        attributes[FINISH_REASONS] = [stop_reason]


def message_body_attributes(body: bytes, request_model: Any) -> dict[str, Any]:
    """Return the outputs (the body as sent), usage, model and stop reason of a message's JSON body.

    Args:
        body: The JSON body the SDK parsed a ``Message`` from.
        request_model: The ``model`` argument of the request.

    Returns:
        The span attributes to set.
    """
    attributes, data = body_attributes(body, request_model, token_usage)
    add_finish_reasons(attributes, data.get("stop_reason"))
    return attributes


def record_message(span: LiveSpan, message: Any, request_model: Any) -> None:
    """Record a whole (non-streamed) message now: outputs, usage, model, stop reason; not the end.

    For a message not parsed from a body the call kept (see :func:`message_body_attributes` for
    those): the caller may change it afterwards.

    Args:
        span: The call's span.
        message: The SDK's ``Message`` (or ``BetaMessage``), or anything else the call returned.
        request_model: The ``model`` argument of the request.
    """
    counts = token_usage(getattr(message, "usage", None))
    attributes = usage_and_model(counts, getattr(message, "model", None), request_model)
    add_finish_reasons(attributes, getattr(message, "stop_reason", None))
    for key, value in attributes.items():
        span.set_attribute(key, value)
    span.set_outputs(encoded(message))

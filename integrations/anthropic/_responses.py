"""Record an Anthropic ``Message`` on its span: outputs, token usage, model and stop reason."""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._json import model_json
from tracewire.anthropic._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan

#: OpenTelemetry GenAI semantic conventions' name for the reasons a response stopped (a list).
FINISH_REASONS = "gen_ai.response.finish_reasons"


def record_usage(span: LiveSpan, usage: Any) -> None:
    """Set ``mlflow.chat.tokenUsage`` from an Anthropic usage object, if it holds any count."""
    counts = token_usage(usage)
    if counts is not None:
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, counts)


def record_model(span: LiveSpan, response_model: Any, request_model: Any) -> None:
    """Set ``mlflow.llm.model``: the model that answered, else the one requested."""
    model = response_model or request_model
    if isinstance(model, str) and model:
        span.set_attribute(SpanAttributeKey.MODEL, model)


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
    record_usage(span, getattr(message, "usage", None))
    record_model(span, getattr(message, "model", None), request_model)
    record_stop_reason(span, getattr(message, "stop_reason", None))
    if callable(getattr(message, "model_dump_json", None)) and not isinstance(message, type):
        span.set_outputs(model_json(message))
    else:
        span.set_outputs(message)

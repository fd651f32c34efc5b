"""Record an OpenAI response object on its span: outputs, token usage and the model that answered."""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._json import DeferredJson
from tracewire.openai._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan


def encoded(response: Any) -> Any:
    """Return ``response`` for span outputs, to be encoded as the JSON the API sent.

    SDK response objects are pydantic models that nobody mutates once returned, so their encoding
    is left to the export thread (pydantic's serializer, fields the server sent, wire names).

    Args:
        response: A response model of the SDK, or anything else.

    Returns:
        A :class:`~tracewire._json.DeferredJson` for pydantic v2 models, else ``response`` itself
        (the span then snapshots it the generic way).
    """
    if callable(getattr(response, "model_dump_json", None)) and not isinstance(response, type):
        return DeferredJson(response)
    return response


def record_usage(span: LiveSpan, usage: Any) -> None:
    """Set ``mlflow.chat.tokenUsage`` from an OpenAI usage object, if it holds any count."""
    counts = token_usage(usage)
    if counts is not None:
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, counts)


def record_model(span: LiveSpan, response_model: Any, request_model: Any) -> None:
    """Set ``mlflow.llm.model``: the model that answered, else the one requested."""
    model = response_model or request_model
    if isinstance(model, str) and model:
        span.set_attribute(SpanAttributeKey.MODEL, model)


def record_response(span: LiveSpan, response: Any, request_model: Any) -> None:
    """Record a whole (non-streamed) response: outputs, usage and model; does not end the span.

    Args:
        span: The call's span.
        response: The SDK's parsed response (``ChatCompletion``, ``Response``, ...).
        request_model: The ``model`` argument of the request.
    """
    record_usage(span, getattr(response, "usage", None))
    record_model(span, getattr(response, "model", None), request_model)
    span.set_outputs(encoded(response))

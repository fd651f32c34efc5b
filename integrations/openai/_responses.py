"""Record an OpenAI response object on its span: outputs, token usage and the model that answered."""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._json import EncodedJson, model_json
from tracewire.openai._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan


def encoded(response: Any) -> Any:
    """Return ``response`` for span outputs: the JSON the API sent, for the SDK's pydantic models.

    Args:
        response: A response model of the SDK, or anything else.

    Returns:
        The model's JSON (pydantic's serializer: the fields the server sent, under their wire
        names), or ``response`` itself when it is no model (the span then snapshots it the
        generic way).
    """
    if callable(getattr(response, "model_dump_json", None)) and not isinstance(response, type):
        return model_json(response)
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


def record_response(
    span: LiveSpan, response: Any, request_model: Any, body: bytes | None = None
) -> None:
    """Record a whole (non-streamed) response: outputs, usage and model; does not end the span.

    Args:
        span: The call's span.
        response: The SDK's parsed response (``ChatCompletion``, ``Response``, ...).
        request_model: The ``model`` argument of the request.
        body: The JSON body ``response`` was parsed from, when the SDK parsed one: recorded as
            the outputs as it is, instead of encoding ``response`` again.
    """
    record_usage(span, getattr(response, "usage", None))
    record_model(span, getattr(response, "model", None), request_model)
    if body is not None and callable(getattr(response, "model_dump_json", None)):
        span.set_outputs(EncodedJson(body, "utf-8", "replace"))
    else:
        span.set_outputs(encoded(response))

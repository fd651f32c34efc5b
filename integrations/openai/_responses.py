"""Record an OpenAI response object on its span: outputs, token usage and the model that answered."""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._json import EncodedJson
from tracewire.openai._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan


def encoded(response: Any) -> Any:
    """Return ``response`` as the JSON the API sent, encoded now by pydantic's own serializer.

    Encoding on the caller's thread freezes the response (later mutation cannot rewrite the
    trace); pydantic-core's serializer does it in a few microseconds. Fields the server did not send
    are left out, as are fields the SDK would not send back (``exclude_unset``).

    Args:
        response: A response model of the SDK, or anything else.

    Returns:
        Encoded JSON text for span outputs, or ``response`` itself when it is not a pydantic v2
        model (the span then encodes it the generic way).
    """
    dump_json = getattr(response, "model_dump_json", None)
    if not callable(dump_json) or isinstance(response, type):
        return response
    try:
        return EncodedJson(dump_json(exclude_unset=True, by_alias=True, warnings=False))
    except TypeError:  # pydantic v1 (the SDK still supports it): no `warnings` argument
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

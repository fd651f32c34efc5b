"""Record an OpenAI result on its span: outputs, token usage and the model that answered.

The caller's thread keeps only what cannot change (the response body's bytes, the stream
recorder's own state); outputs and usage are derived from them on the export thread (see
``LiveSpan._record_later``), or earlier if something reads the span first.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._responses import body_attributes, encoded, usage_and_model
from tracewire.openai._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan

_OUTPUTS = SpanAttributeKey.OUTPUTS


def response_body_attributes(body: bytes, request_model: Any) -> dict[str, Any]:
    """Return the outputs (the body as sent), usage and model of a response's JSON body.

    Args:
        body: The JSON body the SDK parsed a result from (``ChatCompletion``, ``Response``, ...).
        request_model: The ``model`` argument of the request.

    Returns:
        The span attributes to set.
    """
    return body_attributes(body, request_model, token_usage)[0]


def response_attributes(response: Any, request_model: Any) -> dict[str, Any]:
    """Outputs, usage and model of a whole response object.

    Args:
        response: The SDK's parsed response (``ChatCompletion``, ``Response``, ...).
        request_model: The ``model`` argument of the request.

    Returns:
        The span attributes to set.
    """
    counts = token_usage(getattr(response, "usage", None))
    attributes = usage_and_model(counts, getattr(response, "model", None), request_model)
    attributes[_OUTPUTS] = encoded(response)
    return attributes


def record_response(span: LiveSpan, response: Any, request_model: Any) -> None:
    """Record a whole (non-streamed) response now: outputs, usage and model; not the end.

    For a response not parsed from a body the call kept (see :func:`response_body_attributes`
    for those): the caller may change it afterwards.

    Args:
        span: The call's span.
        response: The SDK's parsed response (``ChatCompletion``, ``Response``, ...).
        request_model: The ``model`` argument of the request.
    """
    for key, value in response_attributes(response, request_model).items():
        span.set_attribute(key, value)

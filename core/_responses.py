"""Record a provider SDK's response objects (pydantic models) on a span, cheaply.

Shared by the OpenAI and Anthropic integrations. Each converts its own usage shape to
``mlflow.chat.tokenUsage``; reading the models' fields, dumping them, and deriving the model and
usage attributes are the same for both.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._json import EncodedJson, loads, model_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


def model_fields(value: Any) -> dict[str, Any] | None:
    """Return the field values of a pydantic model (extras included), or of a plain dict.

    pydantic keeps a model's field values in its ``__dict__``; reading them there avoids pydantic's
    ``__getattr__``, which raises (slowly) for every field a shape lacks.

    Args:
        value: A pydantic model, a dict, or anything else.

    Returns:
        A dict that may be the model's own ``__dict__`` (callers must not modify it), or ``None``
        for a value that is neither a model nor a dict.
    """
    if type(value) is dict:
        return value
    fields = getattr(value, "__dict__", None)
    if not isinstance(fields, dict):
        return None
    # Fields an older SDK does not declare (counts added to the API later) arrive as extras.
    extra = getattr(value, "__pydantic_extra__", None)
    return {**fields, **extra} if extra else fields


def plain(model: Any) -> Any:
    """Return a pydantic model as JSON-ready data (the fields the server sent), or the value itself."""
    dump = getattr(model, "model_dump", None)
    if callable(dump) and not isinstance(model, type):
        return dump(mode="json", exclude_unset=True, warnings=False)
    return model


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


def usage_and_model(
    counts: dict[str, int] | None, response_model: Any, request_model: Any
) -> dict[str, Any]:
    """The ``mlflow.chat.tokenUsage`` and ``mlflow.llm.model`` attributes of a result.

    Args:
        counts: The result's usage, already in ``mlflow.chat.tokenUsage`` shape (each integration
            converts its SDK's usage), or ``None`` when the provider reported none.
        response_model: The model the result names.
        request_model: The ``model`` argument of the request, used when the result names none.

    Returns:
        The attributes; a key is left out when there is nothing to record for it, so an absent
        count stays absent.
    """
    attributes: dict[str, Any] = {}
    if counts is not None:
        attributes[SpanAttributeKey.CHAT_USAGE] = counts
    model = response_model or request_model
    if isinstance(model, str) and model:
        attributes[SpanAttributeKey.MODEL] = model
    return attributes


def body_attributes(
    body: bytes, request_model: Any, token_usage: Callable[[Any], dict[str, int] | None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Outputs (the body as sent), usage and model of a response's JSON body.

    Args:
        body: The response body the SDK parsed.
        request_model: The ``model`` argument of the request.
        token_usage: The integration's conversion of the body's ``usage`` field.

    Returns:
        The span attributes, and the decoded body (empty if it is no JSON object) for the
        integration to read more from.
    """
    text = EncodedJson(body, "utf-8", "replace")
    data = text.decoded = loads(text)
    if not isinstance(data, dict):
        data = {}
    attributes = usage_and_model(token_usage(data.get("usage")), data.get("model"), request_model)
    attributes[SpanAttributeKey.OUTPUTS] = text
    return attributes, data


def decoded_events(events: Iterable[Any]) -> list[dict[str, Any]]:
    """The JSON objects a stream's events carry, in order, decoded.

    The events' data are decoded as one JSON array: one call into the decoder instead of one per
    event, which costs more than the decoding itself for the small objects of a stream.

    Args:
        events: Server-sent events kept by a ``KeptEventsRecorder`` (their ``data`` is decoded),
            those data strings themselves, or dicts already decoded (a recorder's copies of the
            stream's items).

    Returns:
        Each event that is a JSON object; the others (OpenAI's ``[DONE]``, an empty ``data``,
        malformed JSON) are left out.
    """
    decoded: list[dict[str, Any]] = []
    texts: list[str] = []
    for event in events:
        if type(event) is dict:
            decoded += _objects(texts)
            texts = []
            decoded.append(event)
            continue
        text = event if type(event) is str else getattr(event, "data", None)
        if isinstance(text, str):
            text = text.strip()
            if text[:1] == "{" and text[-1:] == "}":  # only an object can decode to one
                texts.append(text)
    decoded += _objects(texts)
    return decoded


def _objects(texts: list[str]) -> list[dict[str, Any]]:
    """Decode JSON texts together; those that are not a JSON object are left out."""
    if not texts:
        return []
    values = loads("[" + ",".join(texts) + "]")
    if type(values) is not list or len(values) != len(texts):
        values = [loads(text) for text in texts]  # one is malformed: decode each on its own
    return [value for value in values if type(value) is dict]

"""Rebuild the whole result of an OpenAI stream from its events, for the span's outputs and usage.

Chat and legacy-completion streams are rebuilt into the non-stream response shape (content joined,
tool-call deltas merged by index, finish reason, id, model, usage). Responses API streams end with
a ``response.completed`` (or ``.incomplete`` / ``.failed``) event that carries the whole response;
if the stream stops before it, the text that arrived is kept.

The recorder keeps each server-sent event as the SDK reads it (see
``tracewire._sdk_calls.KeptEventsRecorder``): the chunks exactly as the API sent them, which
nothing can change afterwards. The result is rebuilt from them on the export thread
(``LiveSpan._record_later``), so following the stream costs the caller's thread nothing per
chunk, except the check that hides the usage-only chunk when tracewire asked for it.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._responses import decoded_events, usage_and_model
from tracewire._sdk_calls import KeptEventsRecorder
from tracewire.openai._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from tracewire._sdk_calls import Assemble

_OUTPUTS = SpanAttributeKey.OUTPUTS
_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _ToolCall:
    """One tool call being assembled from its deltas."""

    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []

    def add(self, delta: dict[str, Any]) -> None:
        if delta.get("id"):
            self.id = delta["id"]
        if delta.get("type"):
            self.type = delta["type"]
        function = _as_dict(delta.get("function"))
        if function.get("name"):
            self.name = function["name"]
        if function.get("arguments"):
            self.arguments.append(function["arguments"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type or "function",
            "function": {"name": self.name, "arguments": "".join(self.arguments)},
        }


class _Choice:
    """One choice (``n`` > 1 streams several) being assembled from its deltas."""

    __slots__ = ("finish_reason", "parts", "refusal", "role", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.parts: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[Any, _ToolCall] = {}
        self.finish_reason: str | None = None

    def add(self, choice: dict[str, Any]) -> None:
        delta = _as_dict(choice.get("delta"))
        if delta.get("content"):
            self.parts.append(delta["content"])
        if delta.get("role"):
            self.role = delta["role"]
        if delta.get("refusal"):
            self.refusal.append(delta["refusal"])
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                tool_call = self.tool_calls.get(call.get("index"))
                if tool_call is None:
                    tool_call = self.tool_calls[call.get("index")] = _ToolCall()
                tool_call.add(call)
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]

    def as_dict(self, index: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": "".join(self.parts) if self.parts else None,
        }
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            # Tool calls in the order they started, which is their index order.
            message["tool_calls"] = [call.as_dict() for call in self.tool_calls.values()]
        return {"index": index, "message": message, "finish_reason": self.finish_reason}


def _chunk_attributes(
    chunks: Iterable[dict[str, Any]], kind: str, request_model: Any, add: Callable[[Any], None]
) -> dict[str, Any]:
    """Outputs header, usage and model of chat or completion chunks; ``add`` takes each choice."""
    outputs: dict[str, Any] = {"id": None, "object": kind, "created": None, "model": None}
    usage: Any = None
    named = False
    for chunk in chunks:
        # Every chunk repeats these; the first with an id sets them. (Azure's first chunk, with
        # prompt filter results, has an empty id and model.)
        if not named and chunk.get("id"):
            named = True
            outputs["id"] = chunk["id"]
            outputs["created"] = chunk.get("created")
            outputs["model"] = chunk.get("model")
            if chunk.get("system_fingerprint") is not None:
                outputs["system_fingerprint"] = chunk["system_fingerprint"]
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict):
                add(choice)
        if chunk.get("usage") is not None:
            # With include_usage, a usage-only chunk ends the stream; some OpenAI-compatible
            # servers put it on the last content chunk instead.
            usage = chunk["usage"]
    attributes = usage_and_model(token_usage(usage), outputs["model"], request_model)
    if usage is not None:
        outputs["usage"] = usage
    attributes[_OUTPUTS] = outputs
    return attributes


def chat_attributes(events: Sequence[Any], request_model: Any) -> dict[str, Any]:
    """Outputs (a ``chat.completion``), usage and model of a chat completion stream.

    Args:
        events: The stream's chunks in order: the server-sent events the SDK read, or dicts
            already decoded (see ``decoded_events``).
        request_model: The ``model`` argument, used when no chunk names the model.

    Returns:
        The span attributes to set.
    """
    choices: dict[Any, _Choice] = {}

    def add(choice: dict[str, Any]) -> None:
        index = choice.get("index", 0)
        state = choices.get(index)
        if state is None:
            state = choices[index] = _Choice()
        state.add(choice)

    attributes = _chunk_attributes(decoded_events(events), "chat.completion", request_model, add)
    outputs = attributes[_OUTPUTS]
    outputs["choices"] = [state.as_dict(index) for index, state in _by_index(choices)]
    return attributes


def completion_attributes(events: Sequence[Any], request_model: Any) -> dict[str, Any]:
    """Outputs (a ``text_completion``), usage and model of a legacy completion stream.

    Args:
        events: As for :func:`chat_attributes`.
        request_model: As for :func:`chat_attributes`.

    Returns:
        The span attributes to set.
    """
    texts: dict[Any, list[str]] = {}
    finish_reasons: dict[Any, Any] = {}

    def add(choice: dict[str, Any]) -> None:
        index = choice.get("index", 0)
        parts = texts.setdefault(index, [])
        if choice.get("text"):
            parts.append(choice["text"])
        if choice.get("finish_reason"):
            finish_reasons[index] = choice["finish_reason"]

    attributes = _chunk_attributes(decoded_events(events), "text_completion", request_model, add)
    attributes[_OUTPUTS]["choices"] = [
        {"index": index, "text": "".join(parts), "finish_reason": finish_reasons.get(index)}
        for index, parts in _by_index(texts)
    ]
    return attributes


def _by_index(items: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """The entries sorted by choice index (choices of ``n`` > 1 streams arrive interleaved)."""
    try:
        return sorted(items.items())
    except TypeError:  # an index that is no number: keep the order of arrival
        return list(items.items())


def responses_attributes(events: Sequence[Any], request_model: Any) -> dict[str, Any]:
    """Outputs, usage and model of a Responses API stream.

    The final event's response, as the API sent it; without one (the stream stopped early), an
    incomplete response with the text that arrived.

    Args:
        events: As for :func:`chat_attributes`.
        request_model: As for :func:`chat_attributes`.

    Returns:
        The span attributes to set.
    """
    started: dict[str, Any] = {}
    final: dict[str, Any] | None = None
    text: list[str] = []
    for event in decoded_events(events):
        kind = event.get("type")
        if kind == "response.output_text.delta":
            text.append(event.get("delta") or "")
        elif kind in _FINAL_RESPONSE_EVENTS:
            final = _as_dict(event.get("response"))
        elif kind == "response.created":
            started = _as_dict(event.get("response"))
    if final is not None:
        attributes = usage_and_model(
            token_usage(final.get("usage")), final.get("model"), request_model
        )
        attributes[_OUTPUTS] = final
        return attributes
    partial_response: dict[str, Any] = {"object": "response", "status": "incomplete"}
    if started:
        partial_response["id"] = started.get("id")
        partial_response["model"] = started.get("model")
    partial_response["output_text"] = "".join(text)
    attributes = usage_and_model(None, partial_response.get("model"), request_model)
    attributes[_OUTPUTS] = partial_response
    return attributes


class EventStreamRecorder(KeptEventsRecorder):
    """Rebuilds an OpenAI stream's result from its events, once the stream has ended.

    Args:
        stream: The SDK's stream, not read yet: the recorder keeps each event it reads.
        assemble: Builds the span attributes from the events (:func:`chat_attributes`,
            :func:`completion_attributes` or :func:`responses_attributes`).
        request_model: The ``model`` argument, used when no event names the model.
        hide_usage_chunk: tracewire added ``include_usage`` to the request, so the usage-only
            chunk is recorded but not passed on.
    """

    def __init__(
        self,
        stream: Any,
        assemble: Assemble,
        *,
        request_model: Any,
        hide_usage_chunk: bool = False,
    ) -> None:
        super().__init__(stream, assemble, request_model=request_model)
        self.hide_usage_chunk = hide_usage_chunk
        self.wants_items = self.copies_items or hide_usage_chunk

    def on_item(self, item: Any) -> bool:
        super().on_item(item)
        # The usage-only chunk tracewire asked for: the caller did not, and code that reads
        # chunk.choices[0] must not meet it.
        return not (
            self.hide_usage_chunk and not item.choices and getattr(item, "usage", None) is not None
        )

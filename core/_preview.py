"""Request and response previews: short, chat-aware summaries of a trace's root inputs and outputs."""

from __future__ import annotations

from tracewire._constants import MAX_CHARS_IN_PREVIEW, TRUNCATION_SUFFIX

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# Cheap checks on the JSON text, so only chat-shaped values are decoded on the export thread.
_REQUEST_KEYS = ('"messages"', '"input"', '"request"')
_RESPONSE_KEYS = ('"choices"', '"output"', '"content"', '"request"')


def truncate(text: str, limit: int = MAX_CHARS_IN_PREVIEW) -> str:
    """Cut ``text`` to ``limit`` characters, ending with ``...`` when it was longer.

    NUL characters are replaced, as some stores reject them.
    """
    if len(text) > limit:
        text = text[: limit - len(TRUNCATION_SUFFIX)] + TRUNCATION_SUFFIX
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _content_text(content: Any) -> str | None:
    """Text of a message's content: a string, else the first string or text part of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                return part
            if isinstance(part, dict) and part.get("type") in ("text", "output_text"):
                text = part.get("text")
                return text if isinstance(text, str) else None
    return None


def _messages(value: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Chat messages in a request or response, looked up in MLflow's order."""
    candidates: list[Any] = []
    if isinstance(value.get("messages"), list) and value["messages"]:
        candidates = value["messages"]
    elif isinstance(value.get("choices"), list) and value["choices"]:
        first = value["choices"][0]
        if isinstance(first, dict) and isinstance(first.get("message"), dict):
            candidates = [first["message"]]
    elif isinstance(value.get("input"), list):
        candidates = value["input"]
    elif isinstance(value.get("output"), list):
        candidates = value["output"]
    elif isinstance(value.get("request"), dict):
        return _messages(value["request"])
    elif value.get("role") == "assistant" and "content" in value:  # an Anthropic message
        candidates = [value]
    messages = [m for m in candidates if isinstance(m, dict) and "role" in m and "content" in m]
    return messages or None


def _chat_text(value: Any, role: str) -> str | None:
    """The text of the last message with ``role`` (else the last message), for chat-shaped values."""
    if not isinstance(value, dict):
        return None
    request_input = value.get("input")
    if role == "user" and isinstance(request_input, str):  # Responses API string input
        return request_input
    messages = _messages(value)
    if not messages:
        return None
    chosen = next((m for m in reversed(messages) if m.get("role") == role), messages[-1])
    return _content_text(chosen.get("content"))


def preview(value_json: str, load_value: Callable[[], Any], role: str) -> str:
    """Preview of a root span's inputs (``role="user"``) or outputs (``role="assistant"``).

    Chat-shaped values preview as the text of their last message of that role; anything else as its
    JSON text. Either way at most 1000 characters.

    Args:
        value_json: The value as JSON text.
        load_value: Returns the value as Python objects; called only when the JSON looks chat-shaped.
        role: ``"user"`` for a request preview, ``"assistant"`` for a response preview.
    """
    text = None
    for key in _REQUEST_KEYS if role == "user" else _RESPONSE_KEYS:
        if key in value_json:
            text = _chat_text(load_value(), role)
            break
    return truncate(text or value_json)

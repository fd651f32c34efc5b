"""Request and response previews: short, chat-aware summaries of a trace's root inputs and outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracewire._constants import MAX_CHARS_IN_PREVIEW, TRUNCATION_SUFFIX

# Cheap checks on the JSON text, so only chat-shaped values are decoded on the export thread.
_REQUEST_KEYS = ('"messages"', '"input"', '"request"')
_RESPONSE_KEYS = ('"choices"', '"output"', '"content"')


def truncate(text: str, limit: int = MAX_CHARS_IN_PREVIEW) -> str:
    """Cut ``text`` to ``limit`` characters, ending with ``...`` when it was longer.

    NUL characters are replaced, as some stores reject them.
    """
    text = text.replace("\x00", "\ufffd")
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_SUFFIX)] + TRUNCATION_SUFFIX


def _content_text(content: Any) -> str | None:
    """Text of a chat message's content: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            text
            for part in content
            if isinstance(part, dict) and isinstance(text := part.get("text"), str)
        ]
        if parts:
            return "\n".join(parts)
    return None


def _last_message_text(messages: Any, roles: tuple[str, ...]) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in roles:
            text = _content_text(message.get("content"))
            if text is not None:
                return text
    return None


def _chat_request_text(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    if "messages" in value:
        return _last_message_text(value["messages"], ("user",))
    if "input" in value:  # OpenAI Responses API
        request_input = value["input"]
        if isinstance(request_input, str):
            return request_input
        return _last_message_text(request_input, ("user",))
    if isinstance(value.get("request"), dict):
        return _chat_request_text(value["request"])
    return None


def _chat_response_text(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    choices = value.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _content_text(message.get("content"))
    output = value.get("output")
    if isinstance(output, list):  # OpenAI Responses API
        return _last_message_text(output, ("assistant",)) or _output_text(output)
    if isinstance(value.get("content"), list) and value.get("role") == "assistant":  # Anthropic
        return _content_text(value["content"])
    return None


def _output_text(output: list[Any]) -> str | None:
    texts = [
        text
        for item in output
        if isinstance(item, dict) and item.get("type") == "message"
        for text in [_content_text(item.get("content"))]
        if text
    ]
    return "\n".join(texts) if texts else None


def request_preview(inputs_json: str, load_inputs: Callable[[], Any]) -> str:
    """Preview of a trace's request: the last user message for chat inputs, else the JSON.

    Args:
        inputs_json: The root span's inputs as JSON text.
        load_inputs: Returns the inputs as Python values; called only for chat-shaped JSON.
    """
    text = None
    if any(key in inputs_json for key in _REQUEST_KEYS):
        text = _chat_request_text(load_inputs())
    return truncate(inputs_json if text is None else text)


def response_preview(outputs_json: str, load_outputs: Callable[[], Any]) -> str:
    """Preview of a trace's response: the assistant message for chat outputs, else the JSON.

    Args:
        outputs_json: The root span's outputs as JSON text.
        load_outputs: Returns the outputs as Python values; called only for chat-shaped JSON.
    """
    text = None
    if any(key in outputs_json for key in _RESPONSE_KEYS):
        text = _chat_response_text(load_outputs())
    return truncate(outputs_json if text is None else text)

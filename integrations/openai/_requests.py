"""What a span records about an OpenAI request: inputs, parameters, tools, and usage streaming."""

from __future__ import annotations

from tracewire._requests import RequestRules, is_given

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The host whose chat and completions streams accept ``stream_options`` for certain.
OFFICIAL_HOST = "api.openai.com"
#: What tracewire adds to a stream request to get the final usage chunk.
INCLUDE_USAGE = "include_usage"

# Request headers that carry credentials; never recorded, whatever their case.
_SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
)
# Arguments that are content or plumbing rather than generation parameters.
_NOT_PARAMETERS = (
    "messages",
    "input",
    "prompt",
    "instructions",
    "extra_headers",
    "extra_query",
    "extra_body",
    "timeout",
    "user",
    "safety_identifier",
    "prompt_cache_key",
)


def chat_tool(tool: dict[str, Any]) -> dict[str, Any] | None:
    """Convert one request tool to an OpenAI chat-style function tool, for ``mlflow.chat.tools``.

    Chat Completions tools already have that shape. Responses API function tools are flat
    (``{"type": "function", "name": ...}``) and are nested under ``function``; its built-in tools
    (web search, file search, ...) are listed by their type as the function name, as MLflow does.

    Args:
        tool: One element of the ``tools`` argument, as a dict.

    Returns:
        The converted tool, or ``None`` for a tool of no known shape.
    """
    if isinstance(tool.get("function"), dict):
        return {"type": "function", "function": tool["function"]}
    if tool.get("type") == "function" and "name" in tool:
        keys = ("name", "description", "parameters", "strict")
        return {"type": "function", "function": {key: tool[key] for key in keys if key in tool}}
    if "type" in tool:
        return {"type": "function", "function": {"name": str(tool["type"])}}
    return None


def add_usage_request(kwargs: dict[str, Any], stream_usage: bool | None, host: str | None) -> bool:
    """Decide whether to ask for the final usage chunk of a stream, and ask for it.

    Args:
        kwargs: The call's keyword arguments; when the answer is yes, ``stream_options`` in this
            dict (a copy the caller made) is set or extended with ``include_usage``.
        stream_usage: The ``stream_usage`` autolog option: ``None`` asks only the official endpoint
            and only when the user set no ``stream_options``; ``True`` always asks unless the user
            decided ``include_usage`` themselves; ``False`` never asks.
        host: The host the client sends requests to.

    Returns:
        Whether ``include_usage`` was added, i.e. whether the usage-only chunk must be hidden from
        the caller.
    """
    if stream_usage is False or kwargs.get("stream") is not True:
        return False
    options = kwargs.get("stream_options")
    if stream_usage is None:
        if host != OFFICIAL_HOST or is_given(options):
            return False
        kwargs["stream_options"] = {INCLUDE_USAGE: True}
        return True
    if not is_given(options):
        kwargs["stream_options"] = {INCLUDE_USAGE: True}
        return True
    if isinstance(options, dict) and INCLUDE_USAGE not in options:
        kwargs["stream_options"] = {**options, INCLUDE_USAGE: True}
        return True
    return False


#: How an OpenAI request becomes a span's inputs and attributes.
REQUESTS = RequestRules(
    "openai",
    secret_headers=_SECRET_HEADERS,
    not_parameters=_NOT_PARAMETERS,
    chat_tool=chat_tool,
)

"""What a span records about an OpenAI request: inputs, parameters, tools, and usage streaming."""

from __future__ import annotations

from tracewire._requests import RequestRules, as_dict, is_given

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


def chat_tools(tools: Any) -> list[dict[str, Any]] | None:
    """Convert the request's tools to ``mlflow.chat.tools``: OpenAI chat-style function tools.

    Chat Completions tools already have that shape. Responses API function tools are flat
    (``{"type": "function", "name": ...}``) and are nested under ``function``; its built-in tools
    (web search, file search, ...) are listed by their type as the function name, as MLflow does.

    Args:
        tools: The ``tools`` argument, or ``None``.

    Returns:
        The converted list, or ``None`` when no tools were passed.
    """
    if not isinstance(tools, (list, tuple)) or not tools:
        return None
    converted: list[dict[str, Any]] = []
    for tool in tools:
        tool = as_dict(tool)  # noqa: PLW2901 - the same tool, as a dict
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("function"), dict):
            converted.append({"type": "function", "function": tool["function"]})
        elif tool.get("type") == "function" and "name" in tool:
            function = {
                key: tool[key]
                for key in ("name", "description", "parameters", "strict")
                if key in tool
            }
            converted.append({"type": "function", "function": function})
        elif "type" in tool:
            converted.append({"type": "function", "function": {"name": str(tool["type"])}})
    return converted or None


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
    chat_tools=chat_tools,
)

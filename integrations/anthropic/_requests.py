"""What a span records about an Anthropic request: its inputs, parameters and tools."""

from __future__ import annotations

from tracewire._requests import RequestRules, as_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Request headers that carry credentials; never recorded, whatever their case.
_SECRET_HEADERS = (
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "anthropic-admin-api-key",
)
# Arguments that are content or plumbing rather than generation parameters.
_NOT_PARAMETERS = ("messages", "system", "extra_headers", "extra_query", "extra_body", "timeout")


def chat_tools(tools: Any) -> list[dict[str, Any]] | None:
    """Convert the request's tools to ``mlflow.chat.tools``: OpenAI chat-style function tools.

    A custom tool's ``input_schema`` becomes the function's ``parameters``, as MLflow's Anthropic
    autolog does. Server tools (web search, code execution, ...) have a ``type`` and a ``name``
    but no schema; they are listed by name.

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
        if not isinstance(tool, dict) or "name" not in tool:
            continue
        function: dict[str, Any] = {"name": tool["name"]}
        if "description" in tool:
            function["description"] = tool["description"]
        if "input_schema" in tool:
            function["parameters"] = tool["input_schema"]
        converted.append({"type": "function", "function": function})
    return converted or None


#: How an Anthropic request becomes a span's inputs and attributes.
REQUESTS = RequestRules(
    "anthropic",
    secret_headers=_SECRET_HEADERS,
    not_parameters=_NOT_PARAMETERS,
    chat_tools=chat_tools,
)

"""What a span records about an Anthropic request: its inputs, parameters and tools."""

from __future__ import annotations

from tracewire._requests import RequestRules

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


def chat_tool(tool: dict[str, Any]) -> dict[str, Any] | None:
    """Convert one request tool to an OpenAI chat-style function tool, for ``mlflow.chat.tools``.

    A custom tool's ``input_schema`` becomes the function's ``parameters``, as MLflow's Anthropic
    autolog does. Server tools (web search, code execution, ...) have a ``type`` and a ``name``
    but no schema; they are listed by name.

    Args:
        tool: One element of the ``tools`` argument, as a dict.

    Returns:
        The converted tool, or ``None`` for a tool without a name.
    """
    if "name" not in tool:
        return None
    function: dict[str, Any] = {"name": tool["name"]}
    if "description" in tool:
        function["description"] = tool["description"]
    if "input_schema" in tool:
        function["parameters"] = tool["input_schema"]
    return {"type": "function", "function": function}


#: How an Anthropic request becomes a span's inputs and attributes.
REQUESTS = RequestRules(
    "anthropic",
    secret_headers=_SECRET_HEADERS,
    not_parameters=_NOT_PARAMETERS,
    chat_tool=chat_tool,
    outside_body=("betas",),  # sent as the anthropic-beta header
)

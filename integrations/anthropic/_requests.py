"""What a span records about an Anthropic request: its inputs, parameters and tools."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The SDK's "argument not given" markers (``NOT_GIVEN`` / ``not_given``, ``omit``); matched by class
# name so that every SDK version's classes are recognised without importing them.
_SENTINEL_TYPES = frozenset({"NotGiven", "Omit"})
# Request headers that carry credentials; never recorded, whatever their case.
_SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "anthropic-admin-api-key"}
)
# Arguments that are content or plumbing rather than generation parameters: they stay in the
# inputs but are not copied to span attributes.
_NOT_PARAMETERS = frozenset(
    {"messages", "system", "extra_headers", "extra_query", "extra_body", "timeout"}
)
_SCALARS = (str, int, float, bool)


def request_inputs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return the request as the user passed it, minus SDK markers and credential headers.

    Args:
        kwargs: The keyword arguments of the SDK call (every ``messages`` method is
            keyword-only).

    Returns:
        A new dict; ``kwargs`` is not modified.
    """
    inputs: dict[str, Any] = {}
    for name, value in kwargs.items():
        if type(value).__name__ in _SENTINEL_TYPES:
            continue
        if name == "extra_headers" and isinstance(value, dict):
            headers = {k: v for k, v in value.items() if str(k).lower() not in _SECRET_HEADERS}
            if headers:
                inputs[name] = headers
        elif isinstance(value, type):
            inputs[name] = value.__qualname__  # parse()'s output_format: a pydantic class
        else:
            inputs[name] = value
    return inputs


def request_parameters(inputs: dict[str, Any]) -> dict[str, Any]:
    """Return the scalar generation parameters (model, max_tokens, temperature, ...) as attributes.

    MLflow's autologgers set the same plain attributes, so traces look alike in its UI.
    """
    return {
        name: value
        for name, value in inputs.items()
        if name not in _NOT_PARAMETERS and isinstance(value, _SCALARS)
    }


def _as_dict(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    model_dump = getattr(value, "model_dump", None)
    return model_dump(exclude_none=True) if callable(model_dump) else value


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
        tool = _as_dict(tool)  # noqa: PLW2901 - the same tool, as a dict
        if not isinstance(tool, dict) or "name" not in tool:
            continue
        function: dict[str, Any] = {"name": tool["name"]}
        if "description" in tool:
            function["description"] = tool["description"]
        if "input_schema" in tool:
            function["parameters"] = tool["input_schema"]
        converted.append({"type": "function", "function": function})
    return converted or None

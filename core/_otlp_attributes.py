"""The attributes an exported span carries, in three dialects: MLflow, OTel GenAI and OpenInference.

One span carries all three so that an MLflow server, Phoenix and a generic OpenTelemetry backend
each find the keys they read natively; a backend keeps the other dialects as plain attributes.
The encodings follow what those servers were verified to render (``shared/reference/backends.md``):

* MLflow: ``mlflow.spanType`` and other string keys are plain strings (a JSON-quoted span type breaks
  the server's ``span.type`` search); ``mlflow.spanInputs``/``mlflow.spanOutputs`` and
  ``mlflow.chat.tokenUsage`` are always JSON text, and are left out when ``None``; usage always has
  ``total_tokens``, or the server's trace total is 0.
* OTel GenAI semantic conventions: ``gen_ai.operation.name``, models, provider, ``gen_ai.usage.*``.
* OpenInference: ``openinference.span.kind``, ``input.value``/``output.value`` with mime types (Phoenix
  shows no inputs or outputs without them), ``llm.token_count.*``, model, flattened chat messages.

Every value returned is one OpenTelemetry accepts as an attribute: a primitive or a homogeneous list
of primitives. Dicts and mixed lists become JSON text, which the MLflow server decodes back to dicts.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey, SpanType, TokenUsageKey
from tracewire._json import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import Span

    AttributeValue = str | bool | int | float | list[str] | list[bool] | list[int] | list[float]

_INPUTS = SpanAttributeKey.INPUTS
_OUTPUTS = SpanAttributeKey.OUTPUTS
_USAGE = SpanAttributeKey.CHAT_USAGE
_PRIMITIVES = (str, bool, int, float)

# MLflow span type -> OpenInference span kind. MLflow's own translator maps OI kinds back to the
# same-named types, which is why we always send mlflow.spanType too (OI "LLM" never reads back as
# CHAT_MODEL).
_OPENINFERENCE_KIND = {
    SpanType.CHAT_MODEL: "LLM",
    SpanType.LLM: "LLM",
    SpanType.CHAIN: "CHAIN",
    SpanType.AGENT: "AGENT",
    SpanType.TOOL: "TOOL",
    SpanType.RETRIEVER: "RETRIEVER",
    SpanType.EMBEDDING: "EMBEDDING",
    SpanType.RERANKER: "RERANKER",
    SpanType.GUARDRAIL: "GUARDRAIL",
    SpanType.EVALUATOR: "EVALUATOR",
    SpanType.PARSER: "CHAIN",
    SpanType.MEMORY: "CHAIN",
    SpanType.WORKFLOW: "CHAIN",
    SpanType.TASK: "CHAIN",
    SpanType.UNKNOWN: "UNKNOWN",
}
# MLflow span type -> gen_ai.operation.name (values from the GenAI semantic conventions' registry).
_GENAI_OPERATION = {
    SpanType.CHAT_MODEL: "chat",
    SpanType.LLM: "text_completion",
    SpanType.EMBEDDING: "embeddings",
    SpanType.RETRIEVER: "retrieval",
    SpanType.AGENT: "invoke_agent",
    SpanType.TOOL: "execute_tool",
    SpanType.WORKFLOW: "invoke_workflow",
}
# Spans whose inputs and outputs are decoded to find models and messages; other spans' values are
# passed on as JSON text without decoding, which keeps the export thread cheap for big payloads.
_MODEL_SPAN_TYPES = frozenset({SpanType.CHAT_MODEL, SpanType.LLM, SpanType.EMBEDDING})
# mlflow.chat.tokenUsage key -> (GenAI key, OpenInference key).
_USAGE_KEYS = (
    (TokenUsageKey.INPUT_TOKENS, "gen_ai.usage.input_tokens", "llm.token_count.prompt"),
    (TokenUsageKey.OUTPUT_TOKENS, "gen_ai.usage.output_tokens", "llm.token_count.completion"),
    (TokenUsageKey.TOTAL_TOKENS, None, "llm.token_count.total"),  # GenAI defines no total
    (
        TokenUsageKey.CACHE_READ_INPUT_TOKENS,
        "gen_ai.usage.cache_read.input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    (
        TokenUsageKey.CACHE_CREATION_INPUT_TOKENS,
        "gen_ai.usage.cache_creation.input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    (
        TokenUsageKey.REASONING_TOKENS,
        "gen_ai.usage.reasoning.output_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
)
# Request arguments that are content or identity, not generation parameters.
_NOT_PARAMETERS = frozenset({"messages", "model", "input", "system", "tools", "prompt", "stream"})


def otel_value(value: Any) -> AttributeValue | None:
    """Convert a decoded attribute value to one OpenTelemetry accepts, or ``None`` to leave it out.

    Args:
        value: The value as the span holds it (decoded from JSON).

    Returns:
        The value itself for a primitive or a list of one primitive type; JSON text otherwise.
    """
    if value is None:
        return None
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, list) and value:
        kind = type(value[0])
        if kind in _PRIMITIVES and all(type(item) is kind for item in value):
            return value
    return dumps(value)


def token_usage(span: Span) -> dict[str, int] | None:
    """The span's ``mlflow.chat.tokenUsage`` counts, with ``total_tokens`` filled in; ``None`` if none."""
    usage = span.get_attribute(_USAGE)
    if not isinstance(usage, dict):
        return None
    counts = {
        key: count for key in TokenUsageKey.all_keys() if type(count := usage.get(key)) is int
    }
    if not counts:
        return None
    counts.setdefault(
        TokenUsageKey.TOTAL_TOKENS,
        counts.get(TokenUsageKey.INPUT_TOKENS, 0) + counts.get(TokenUsageKey.OUTPUT_TOKENS, 0),
    )
    return counts


def span_attributes(span: Span) -> dict[str, AttributeValue]:
    """Every attribute of ``span`` in the MLflow, GenAI and OpenInference dialects.

    Args:
        span: A finished span.

    Returns:
        The attributes, MLflow's first; keys the span set itself are never overwritten.
    """
    attributes: dict[str, AttributeValue] = {}
    for key, text in span._attributes.items():
        if key in (_INPUTS, _OUTPUTS):
            if text != "null":  # None reads back from MLflow as the string 'null': leave it out
                attributes[key] = text
        elif key != _USAGE:
            value = otel_value(span.get_attribute(key))
            if value is not None:
                attributes[key] = value
    span_type = span.span_type or SpanType.UNKNOWN
    attributes[SpanAttributeKey.SPAN_TYPE] = span_type
    usage = token_usage(span)
    if usage is not None:
        attributes[_USAGE] = dumps(usage)

    derived: dict[str, AttributeValue] = {
        "openinference.span.kind": _OPENINFERENCE_KIND.get(span_type, "UNKNOWN")
    }
    operation = _GENAI_OPERATION.get(span_type)
    if operation is not None:
        derived["gen_ai.operation.name"] = operation
    if span_type == SpanType.TOOL:
        derived["gen_ai.tool.name"] = span.name
    for key, prefix in ((_INPUTS, "input"), (_OUTPUTS, "output")):
        io_text = span._attributes.get(key)
        if io_text is not None and io_text != "null":
            _add_io(derived, prefix, io_text, span, key)
    if usage is not None:
        for usage_key, genai_key, openinference_key in _USAGE_KEYS:
            if usage_key in usage:
                if genai_key is not None:
                    derived[genai_key] = usage[usage_key]
                derived[openinference_key] = usage[usage_key]
    _add_provider(derived, span)
    if span_type in _MODEL_SPAN_TYPES:
        _add_model_call(derived, span)
    elif span_type == SpanType.RETRIEVER:
        _add_documents(derived, span.outputs)
    for key, value in derived.items():
        attributes.setdefault(key, value)
    return attributes


def _add_io(out: dict[str, AttributeValue], prefix: str, text: str, span: Span, key: str) -> None:
    """``input.value``/``output.value``: a string as it is, anything else as its JSON text."""
    if text.startswith('"'):
        value = span.get_attribute(key)
        if isinstance(value, str):
            out[f"{prefix}.value"] = value
            out[f"{prefix}.mime_type"] = "text/plain"
            return
    out[f"{prefix}.value"] = text
    out[f"{prefix}.mime_type"] = "application/json"


def _add_provider(out: dict[str, AttributeValue], span: Span) -> None:
    provider = span.get_attribute(SpanAttributeKey.MODEL_PROVIDER)
    if isinstance(provider, str) and provider:
        out["gen_ai.provider.name"] = provider
        out["gen_ai.system"] = provider  # the pre-1.37 name, still what many backends read
        out["llm.provider"] = provider
        out["llm.system"] = provider


def _add_model_call(out: dict[str, AttributeValue], span: Span) -> None:
    """Models, response id, finish reasons, parameters and chat messages of an LLM call."""
    inputs, outputs = span.inputs, span.outputs
    recorded_model = span.model_name
    request_model = inputs.get("model") if isinstance(inputs, dict) else None
    response_model = outputs.get("model") if isinstance(outputs, dict) else None
    request_model = request_model if isinstance(request_model, str) else recorded_model
    response_model = response_model if isinstance(response_model, str) else recorded_model
    if request_model:
        out["gen_ai.request.model"] = request_model
        out["llm.request.model_name"] = request_model
    if response_model:
        out["gen_ai.response.model"] = response_model
        out["llm.response.model_name"] = response_model
    model = recorded_model or response_model or request_model
    if model:
        out["llm.model_name"] = model
        if span.span_type == SpanType.EMBEDDING:
            out["embedding.model_name"] = model
    if isinstance(inputs, dict):
        parameters = {k: v for k, v in inputs.items() if k not in _NOT_PARAMETERS}
        if parameters:
            out["llm.invocation_parameters"] = dumps(parameters)
        _add_messages(out, "llm.input_messages", _input_messages(inputs))
    if isinstance(outputs, dict):
        response_id = outputs.get("id")
        if isinstance(response_id, str):
            out["gen_ai.response.id"] = response_id
        reasons = _finish_reasons(outputs)
        if reasons:
            out["gen_ai.response.finish_reasons"] = reasons
        _add_messages(out, "llm.output_messages", _output_messages(outputs))


def _text(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of a content list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return "".join(parts) if parts else None
    return None


def _input_messages(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Chat messages of a request: OpenAI/Anthropic ``messages`` (plus ``system``) or Responses ``input``."""
    messages: list[Any] = []
    system = inputs.get("system")
    if system is not None:
        messages.append({"role": "system", "content": system})
    if isinstance(inputs.get("messages"), list):
        messages.extend(inputs["messages"])
    elif isinstance(inputs.get("input"), str):
        messages.append({"role": "user", "content": inputs["input"]})
    elif isinstance(inputs.get("input"), list):
        messages.extend(inputs["input"])
    return [m for m in messages if isinstance(m, dict) and "role" in m]


def _output_messages(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Chat messages of a response: OpenAI ``choices``, an Anthropic message or Responses ``output``."""
    if isinstance(outputs.get("choices"), list):
        messages = [c.get("message") for c in outputs["choices"] if isinstance(c, dict)]
    elif outputs.get("role") == "assistant":
        messages = [outputs]
    elif isinstance(outputs.get("output"), list):
        messages = outputs["output"]
    else:
        return []
    return [m for m in messages if isinstance(m, dict) and "role" in m]


def _add_messages(
    out: dict[str, AttributeValue], prefix: str, messages: list[dict[str, Any]]
) -> None:
    """OpenInference's flattened messages: ``<prefix>.<i>.message.role`` / ``.content`` / tool calls."""
    for index, message in enumerate(messages):
        key = f"{prefix}.{index}.message"
        out[f"{key}.role"] = str(message["role"])
        text = _text(message.get("content"))
        if text is not None:
            out[f"{key}.content"] = text
        tool_calls = message.get("tool_calls")
        if not isinstance(tool_calls, list):
            continue
        for call_index, call in enumerate(tool_calls):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            call_key = f"{key}.tool_calls.{call_index}.tool_call"
            if isinstance(call.get("id"), str):
                out[f"{call_key}.id"] = call["id"]
            if isinstance(function.get("name"), str):
                out[f"{call_key}.function.name"] = function["name"]
            if isinstance(function.get("arguments"), str):
                out[f"{call_key}.function.arguments"] = function["arguments"]


def _finish_reasons(outputs: dict[str, Any]) -> list[str]:
    choices = outputs.get("choices")
    if isinstance(choices, list):
        return [
            c["finish_reason"]
            for c in choices
            if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)
        ]
    stop_reason = outputs.get("stop_reason")  # Anthropic
    return [stop_reason] if isinstance(stop_reason, str) else []


def _add_documents(out: dict[str, AttributeValue], outputs: Any) -> None:
    """OpenInference's ``retrieval.documents.<i>.document.*`` for a retriever's Document list."""
    if not isinstance(outputs, list):
        return
    for index, document in enumerate(outputs):
        if not isinstance(document, dict) or "page_content" not in document:
            continue
        key = f"retrieval.documents.{index}.document"
        out[f"{key}.content"] = str(document["page_content"])
        if isinstance(document.get("id"), str):
            out[f"{key}.id"] = document["id"]
        metadata = document.get("metadata")
        if isinstance(metadata, dict) and metadata:
            out[f"{key}.metadata"] = dumps(metadata)
            score = metadata.get("score")
            if isinstance(score, (int, float)) and not isinstance(score, bool):
                out[f"{key}.score"] = float(score)

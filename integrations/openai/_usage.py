"""OpenAI's usage objects converted to MLflow's ``mlflow.chat.tokenUsage`` shape (DESIGN.md §4).

Chat and legacy completions report ``prompt_tokens`` / ``completion_tokens``; the Responses API
reports ``input_tokens`` / ``output_tokens``; embeddings report only ``prompt_tokens``. Cached and
reasoning counts sit in nested ``*_details`` objects. A count the provider did not report stays
absent: nothing here invents a 0.
"""

from __future__ import annotations

from tracewire._constants import TokenUsageKey
from tracewire._responses import model_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_INPUT = TokenUsageKey.INPUT_TOKENS
_OUTPUT = TokenUsageKey.OUTPUT_TOKENS
_TOTAL = TokenUsageKey.TOTAL_TOKENS
# Per usage shape: its input and output count names, then (details object, key inside it, key in
# mlflow.chat.tokenUsage) for the nested counts.
_CHAT = (
    "prompt_tokens",
    "completion_tokens",
    (
        ("prompt_tokens_details", "cached_tokens", TokenUsageKey.CACHE_READ_INPUT_TOKENS),
        ("prompt_tokens_details", "cache_write_tokens", TokenUsageKey.CACHE_CREATION_INPUT_TOKENS),
        ("completion_tokens_details", "reasoning_tokens", TokenUsageKey.REASONING_TOKENS),
    ),
)
_RESPONSES = (
    "input_tokens",
    "output_tokens",
    (
        ("input_tokens_details", "cached_tokens", TokenUsageKey.CACHE_READ_INPUT_TOKENS),
        ("input_tokens_details", "cache_write_tokens", TokenUsageKey.CACHE_CREATION_INPUT_TOKENS),
        ("output_tokens_details", "reasoning_tokens", TokenUsageKey.REASONING_TOKENS),
    ),
)


def token_usage(usage: Any) -> dict[str, int] | None:
    """Convert an OpenAI usage object (any of the SDK's shapes) to ``mlflow.chat.tokenUsage``.

    Args:
        usage: ``CompletionUsage`` (chat, legacy completions), ``ResponseUsage`` (Responses API),
            ``Usage`` (embeddings), a dict of the same fields, or ``None``.

    Returns:
        ``input_tokens``, ``output_tokens`` and ``total_tokens`` as reported, plus
        ``cache_read_input_tokens``, ``cache_creation_input_tokens`` and ``reasoning_tokens`` when
        reported; ``total_tokens`` is input + output when the provider left it out. ``None`` when
        the object carries no count at all.
    """
    fields = model_fields(usage)
    if fields is None:
        return None
    # `type(...) is int`: pydantic and JSON give plain ints, and it keeps out bools (an int subclass).
    get = fields.get
    shape = (
        _RESPONSES if get("input_tokens") is not None or get("output_tokens") is not None else _CHAT
    )
    input_name, output_name, details = shape
    result: dict[str, int] = {}
    if type(count := get(input_name)) is int:
        result[_INPUT] = count
    if type(count := get(output_name)) is int:
        result[_OUTPUT] = count
    total = get("total_tokens")
    if type(total) is int:
        result[_TOTAL] = total
    elif result:
        result[_TOTAL] = result.get(_INPUT, 0) + result.get(_OUTPUT, 0)
    else:
        return None
    for container_name, source, key in details:
        container = get(container_name)
        if container is not None:
            container = model_fields(container)
            if container is not None and type(count := container.get(source)) is int:
                result[key] = count
    return result

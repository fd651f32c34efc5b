"""Anthropic's usage objects converted to MLflow's ``mlflow.chat.tokenUsage`` shape (DESIGN.md §4).

Anthropic's ``input_tokens`` counts only the tokens after the last cache breakpoint: the prompt's
full size is ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``. MLflow's
``input_tokens`` is the full prompt, so the cache figures are added in, and also kept under their
own keys. A count the provider did not report stays absent: nothing here invents a 0.
"""

from __future__ import annotations

from tracewire._constants import TokenUsageKey
from tracewire._responses import model_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CACHE_KEYS = (
    TokenUsageKey.CACHE_READ_INPUT_TOKENS,
    TokenUsageKey.CACHE_CREATION_INPUT_TOKENS,
)


def _count(value: Any) -> int | None:
    # `type(...) is int`: JSON and pydantic give plain ints; it keeps out bools, an int subclass.
    return value if type(value) is int else None


def token_usage(usage: Any) -> dict[str, int] | None:
    """Convert an Anthropic usage object to ``mlflow.chat.tokenUsage``.

    Args:
        usage: A ``Usage`` model, a dict of its fields, or ``None``.

    Returns:
        ``input_tokens`` (cache reads and writes included), ``output_tokens`` and
        ``total_tokens``, plus ``cache_read_input_tokens`` and ``cache_creation_input_tokens``
        when reported. ``None`` when the object carries neither an input nor an output count.
    """
    fields = model_fields(usage)
    if fields is None:
        return None
    input_tokens = _count(fields.get("input_tokens"))
    output_tokens = _count(fields.get("output_tokens"))
    if input_tokens is None and output_tokens is None:
        return None
    result: dict[str, int] = {}
    cached = 0
    for key in _CACHE_KEYS:
        count = _count(fields.get(key))
        if count is not None:
            result[key] = count
            cached += count
    if input_tokens is not None:
        result[TokenUsageKey.INPUT_TOKENS] = input_tokens + cached
    if output_tokens is not None:
        result[TokenUsageKey.OUTPUT_TOKENS] = output_tokens
    result[TokenUsageKey.TOTAL_TOKENS] = result.get(TokenUsageKey.INPUT_TOKENS, 0) + (
        output_tokens or 0
    )
    return result

"""Trace-level token totals: each span's usage counts only when no ancestor already carries usage.

That rule is what keeps a framework span (LangChain ``ChatOpenAI``) wrapping a provider span (OpenAI
``Completions``) from being counted twice.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey, TokenUsageKey

_CHAT_USAGE = SpanAttributeKey.CHAT_USAGE
_TOTALS = (TokenUsageKey.INPUT_TOKENS, TokenUsageKey.OUTPUT_TOKENS, TokenUsageKey.TOTAL_TOKENS)
_OPTIONAL = (
    TokenUsageKey.CACHE_READ_INPUT_TOKENS,
    TokenUsageKey.CACHE_CREATION_INPUT_TOKENS,
    TokenUsageKey.CACHE_CREATION_INPUT_TOKENS_ABOVE_1HR,
    TokenUsageKey.REASONING_TOKENS,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


_KEYS = (*_TOTALS, *_OPTIONAL)


def _span_usage(usage: Any) -> dict[str, int] | None:
    """Read one span's usage dict; ``None`` when it holds no token count at all."""
    if not isinstance(usage, dict):
        return None
    counts: dict[str, int] = {}
    for key in _KEYS:
        count = usage.get(key)
        # `type(...) is int` keeps out bools (an int subclass) and anything JSON cannot hold.
        if type(count) is int:
            counts[key] = count
    if not counts:
        return None
    if TokenUsageKey.TOTAL_TOKENS not in counts:
        counts[TokenUsageKey.TOTAL_TOKENS] = counts.get(TokenUsageKey.INPUT_TOKENS, 0) + counts.get(
            TokenUsageKey.OUTPUT_TOKENS, 0
        )
    return counts


def aggregate_token_usage(spans: Sequence[Any]) -> dict[str, int] | None:
    """Sum token usage over a trace's spans without double counting nested LLM spans.

    Args:
        spans: The trace's spans (anything with ``span_id``, ``parent_id`` and ``get_attribute``).

    Returns:
        ``input_tokens``, ``output_tokens`` and ``total_tokens`` (plus cache and reasoning keys when
        any span reported them), or ``None`` when no span carries usage.
    """
    for span in spans:
        if _CHAT_USAGE in span._attributes:
            break
    else:
        return None
    if len(spans) == 1:  # a lone LLM call, the commonest trace: nothing nests
        usage = _span_usage(spans[0].get_attribute(_CHAT_USAGE))
        return None if usage is None else _totals(usage)
    by_id = {span.span_id: span for span in spans}
    children: dict[str | None, list[Any]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in by_id else None
        children.setdefault(parent, []).append(span)

    totals: dict[str, int] = {}
    found = False
    stack: list[tuple[Any, bool]] = [(span, False) for span in children.get(None, [])]
    while stack:
        span, covered = stack.pop()
        if not covered:
            usage = _span_usage(span.get_attribute(SpanAttributeKey.CHAT_USAGE))
            if usage is not None:
                found = True
                covered = True
                for key, count in usage.items():
                    totals[key] = totals.get(key, 0) + count
        stack.extend((child, covered) for child in children.get(span.span_id, ()))
    return _totals(totals) if found else None


def _totals(counts: dict[str, int]) -> dict[str, int]:
    """The trace-level shape: the three totals always, the optional counts when reported."""
    result = {key: counts.get(key, 0) for key in _TOTALS}
    result.update({key: counts[key] for key in _OPTIONAL if key in counts})
    return result

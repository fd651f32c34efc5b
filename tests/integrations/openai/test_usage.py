"""OpenAI usage shapes converted to ``mlflow.chat.tokenUsage``: reported counts only, never invented."""

from __future__ import annotations

from openai.types import CompletionUsage

from tracewire.openai._usage import token_usage


def test_chat_usage_keeps_details_the_provider_reported() -> None:
    usage = CompletionUsage.model_validate(
        {
            "prompt_tokens": 30,
            "completion_tokens": 5,
            "total_tokens": 35,
            "prompt_tokens_details": {"cached_tokens": 20},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    )

    assert token_usage(usage) == {
        "input_tokens": 30,
        "output_tokens": 5,
        "total_tokens": 35,
        "cache_read_input_tokens": 20,
        "reasoning_tokens": 2,
    }


def test_responses_usage_shape_is_recognised_from_a_dict() -> None:
    usage = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}

    assert token_usage(usage) == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


def test_missing_total_is_input_plus_output() -> None:
    assert token_usage({"prompt_tokens": 4, "completion_tokens": 2}) == {
        "input_tokens": 4,
        "output_tokens": 2,
        "total_tokens": 6,
    }


def test_usage_without_counts_is_absent_not_zero() -> None:
    assert token_usage({"prompt_tokens": None, "completion_tokens": True}) is None
    assert token_usage(None) is None

"""Benchmark what OpenAI autologging adds to a call, tracewire next to MLflow, in one run.

Run with ``nox -s bench`` (or ``python benchmarks/bench_openai.py`` in a venv holding tracewire,
openai and mlflow-tracing). ``client.chat.completions.create`` is served by an in-process
``MockTransport`` with realistic bodies, so only the SDK, the tracing library and Python run.
Uninstrumented, tracewire and MLflow each run in their own subprocess, in rotating order; inside
the two library workers, batches with autolog off and on alternate, so each overhead is a paired,
same-process difference. A second part times ``<library>.openai.autolog()`` right after
``import openai`` in fresh interpreters. This parent process imports none of the libraries and
prints one markdown report. ``benchmarks/README.md`` ("OpenAI autolog") describes the method.

This file holds what is particular to OpenAI: the mock server, the calls, the usage both libraries
must record. The method (workers, paired batches, probes, report) is ``bench_sdk.py``'s, shared
with ``bench_anthropic.py``; MLflow's offline configuration is ``bench_core.py``'s. Run this file
as a script, so that its own folder is on ``sys.path``.

The process exits 0 even when a budget is missed (the table says MISS) and 1 only when something
crashed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from bench_sdk import CallCase, MockServer, SdkBench, main

# --------------------------------------------------------------------------------------------------
# The mock OpenAI server: realistic bodies, built once; answered in process.
# --------------------------------------------------------------------------------------------------

MODEL = "gpt-4o-mini"
MESSAGES = [
    {"role": "system", "content": "You are a concise geography assistant. Answer in one sentence."},
    {"role": "user", "content": "What is the capital of France, and how many people live there?"},
]
ANSWER = (
    "The capital of France is Paris, which sits on the Seine and has about two million residents."
)
ANSWER_WORDS = ANSWER.split(" ")
PROMPT_TOKENS = 38
COMPLETION_TOKENS = len(ANSWER_WORDS)  # 17: one token per content chunk
USAGE = {
    "prompt_tokens": PROMPT_TOKENS,
    "completion_tokens": COMPLETION_TOKENS,
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
# What both libraries must record as the span's (and the trace's) token usage.
EXPECTED_USAGE = {
    "input_tokens": PROMPT_TOKENS,
    "output_tokens": COMPLETION_TOKENS,
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
}
COMPLETION_ID = "chatcmpl-BfK3xq7Yw2mZc9rT4nLp8sVd1eHa"
CREATED = 1_763_750_000
FINGERPRINT = "fp_560af6e559"
RESPONSE_HEADERS = {
    "x-request-id": "req_5f0c1e2d3b4a59687766554433221100",
    "openai-organization": "user-abc123",
    "openai-processing-ms": "412",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-limit-tokens": "10000000",
    "x-ratelimit-remaining-tokens": "9999950",
}
CHAT_BODY = json.dumps(
    {
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": ANSWER,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
).encode()


def _sse_event(choices: list[dict[str, Any]], *, usage_field: bool, usage: Any = None) -> bytes:
    chunk: dict[str, Any] = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
    }
    if usage_field:
        # With include_usage, OpenAI sends "usage": null on every chunk but the last one.
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _stream_events(*, include_usage: bool) -> list[bytes]:
    """Build one streamed answer: role, 17 content chunks, finish, [usage], ``[DONE]``.

    Args:
        include_usage: The request asked for ``stream_options.include_usage``: add the usage-only
            chunk (``"choices": []``), which makes 20 chunks.

    Returns:
        The SSE events, one ``bytes`` each, as a server writes them.
    """

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

    words = [word if index == 0 else " " + word for index, word in enumerate(ANSWER_WORDS)]
    events = [
        _sse_event(
            choice({"role": "assistant", "content": "", "refusal": None}),
            usage_field=include_usage,
        ),
        *(_sse_event(choice({"content": word}), usage_field=include_usage) for word in words),
        _sse_event(choice({}, "stop"), usage_field=include_usage),
    ]
    if include_usage:
        events.append(_sse_event([], usage_field=True, usage=USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


STREAM_CHUNKS = len(_stream_events(include_usage=True)) - 1  # 20; [DONE] is no chunk


class MockOpenAI(MockServer):
    """Answers ``POST /chat/completions`` like the real API.

    A streamed request gets the usage chunk only when ``stream_options.include_usage`` is set.

    Attributes:
        usage_requested: Streamed requests that asked for ``include_usage``.
    """

    def __init__(self, sdk: Any) -> None:
        super().__init__(sdk, RESPONSE_HEADERS)
        self._events = {flag: _stream_events(include_usage=flag) for flag in (False, True)}
        self.usage_requested = 0

    def json_body(self, request: dict[str, Any]) -> bytes:
        """Return the ``ChatCompletion``, whatever was asked."""
        return CHAT_BODY

    def sse_events(self, request: dict[str, Any]) -> list[bytes]:
        """Return the streamed answer, with the usage chunk if the request asked for it."""
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        self.usage_requested += include_usage
        return self._events[include_usage]

    def counters(self) -> dict[str, int]:
        """Return what the server was asked, streamed requests asking for usage included."""
        return {**super().counters(), "stream_with_include_usage": self.usage_requested}


# --------------------------------------------------------------------------------------------------
# What is measured: the calls, and what each worker runs them with.
# --------------------------------------------------------------------------------------------------

CASES = (
    CallCase(
        "chat",
        "`chat.completions.create` → `ChatCompletion` with usage",
        30,
        {"model": MODEL, "messages": MESSAGES},
    ),
    CallCase(
        "stream",
        f"`chat.completions.create(stream=True)`, {STREAM_CHUNKS} chunks consumed "
        '(all three pass `stream_options={"include_usage": True}`)',
        15,
        {
            "model": MODEL,
            "messages": MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        stream_items=STREAM_CHUNKS,
    ),
)


def _completions(openai: Any, http_client: Any) -> Any:
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.openai.com/v1", http_client=http_client
    )
    return client.chat.completions


def _request_note(requests: dict[str, int]) -> str:
    stream, with_usage = requests.get("stream", 0), requests.get("stream_with_include_usage", 0)
    return (
        f"requests {requests.get('total', 0)}, streamed ones asking for include_usage "
        f"{with_usage}/{stream}" + ("" if stream == with_usage else " (!)")
    )


BENCH = SdkBench(
    sdk="openai",
    script=os.path.abspath(__file__),
    title="OpenAI autolog overhead: tracewire vs MLflow",
    cases=CASES,
    mock=MockOpenAI,
    resource=_completions,
    expected_usage=EXPECTED_USAGE,
    patched=("openai.resources.chat.completions", "Completions", "create"),
    request_note=_request_note,
)


if __name__ == "__main__":
    sys.exit(main(BENCH, (__doc__ or "").splitlines()[0]))

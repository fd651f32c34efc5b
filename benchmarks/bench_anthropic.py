"""Benchmark what Anthropic autologging adds to a call, tracewire next to MLflow, in one run.

Run with ``nox -s bench`` (or ``python benchmarks/bench_anthropic.py`` in a venv holding
tracewire, anthropic and mlflow-tracing). ``client.messages.create`` is served by an in-process
``MockTransport`` with realistic bodies (a ``Message`` with prompt-cache usage, and a 20-event
SSE stream), so only the SDK, the tracing library and Python run. Uninstrumented, tracewire and
MLflow each run in their own subprocess, in rotating order; inside the two library workers,
batches with autolog off and on alternate, so each overhead is a paired, same-process difference.
A second part times ``<library>.anthropic.autolog()`` right after ``import anthropic`` in fresh
interpreters. This parent process imports none of the libraries and prints one markdown report.
``benchmarks/README.md`` ("Anthropic autolog") describes the method.

Only what is particular to Anthropic is here (the mock server, the calls, the usage both
libraries must record); the method, and with it the exit codes (0 also when a budget is missed,
1 when something crashed), is ``bench_sdk.py``'s, as for ``bench_openai.py``. Run this file as a
script, so that its own folder is on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from bench_sdk import CallCase, MockServer, SdkBench, main

# --------------------------------------------------------------------------------------------------
# The mock Anthropic server: realistic bodies, built once; answered in process.
# --------------------------------------------------------------------------------------------------

MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 1024
# Two cache breakpoints, as an application that caches a long reference document and, after it, a
# per-session preamble: the server reads the first prefix from the cache and writes the second.
# The text is sized for the token counts below (about 4 characters a token).
_REFERENCE = " ".join(
    f"Section {number}: Paris is the capital and largest city of France, on the Seine; the "
    "city proper has about two million residents and its metropolitan area about thirteen."
    for number in range(1, 40)
)
_PREAMBLE = (
    "Session notes: the user is planning a trip and prefers short, factual answers with numbers "
    "rounded to the nearest million. Keep answers to one sentence. " * 5
)
SYSTEM = [
    {"type": "text", "text": _REFERENCE, "cache_control": {"type": "ephemeral"}},
    {"type": "text", "text": _PREAMBLE, "cache_control": {"type": "ephemeral"}},
]
MESSAGES = [
    {"role": "user", "content": "What is the capital of France, and how many people live there?"},
]
ANSWER = "Paris is the capital of France; about two million people live in the city."
ANSWER_WORDS = ANSWER.split(" ")
INPUT_TOKENS = 21  # after the last cache breakpoint: the user message
CACHE_READ_TOKENS = 1_536
CACHE_CREATION_TOKENS = 188
OUTPUT_TOKENS = len(ANSWER_WORDS)  # 14: one token per text delta
# message_start announces a first output token; message_delta then carries the cumulative count.
START_OUTPUT_TOKENS = 1
CACHE_COUNTS = {
    "cache_creation_input_tokens": CACHE_CREATION_TOKENS,
    "cache_read_input_tokens": CACHE_READ_TOKENS,
}
USAGE = {
    "input_tokens": INPUT_TOKENS,
    **CACHE_COUNTS,
    "cache_creation": {
        "ephemeral_5m_input_tokens": CACHE_CREATION_TOKENS,
        "ephemeral_1h_input_tokens": 0,
    },
    "output_tokens": OUTPUT_TOKENS,
    "service_tier": "standard",
}
# What both libraries must record (DESIGN.md §4): the full prompt as input, cache reads and writes
# included; for a stream, the output count of the LAST message_delta, never added to
# message_start's.
EXPECTED_USAGE = {
    "input_tokens": INPUT_TOKENS + CACHE_READ_TOKENS + CACHE_CREATION_TOKENS,
    "output_tokens": OUTPUT_TOKENS,
    "total_tokens": INPUT_TOKENS + CACHE_READ_TOKENS + CACHE_CREATION_TOKENS + OUTPUT_TOKENS,
    **CACHE_COUNTS,
}
MESSAGE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"
RESPONSE_HEADERS = {
    "request-id": "req_011CVdmW5TjXJ8hqB2nRzQ4e",
    "anthropic-organization-id": "5b0d2c6e-8f3a-4c1d-9e7b-2a6f4d8c0e13",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3999",
    "anthropic-ratelimit-requests-reset": "2026-11-21T12:00:01Z",
    "anthropic-ratelimit-input-tokens-limit": "2000000",
    "anthropic-ratelimit-input-tokens-remaining": "1999000",
    "anthropic-ratelimit-input-tokens-reset": "2026-11-21T12:00:01Z",
    "anthropic-ratelimit-output-tokens-limit": "400000",
    "anthropic-ratelimit-output-tokens-remaining": "400000",
    "anthropic-ratelimit-output-tokens-reset": "2026-11-21T12:00:01Z",
    "anthropic-ratelimit-tokens-limit": "2400000",
    "anthropic-ratelimit-tokens-remaining": "2399000",
    "anthropic-ratelimit-tokens-reset": "2026-11-21T12:00:01Z",
    "x-robots-tag": "none",
    "via": "1.1 google",
    "server": "cloudflare",
    "cf-ray": "9a1b2c3d4e5f6789-FRA",
}


def _message(content: list[dict[str, Any]], stop_reason: str | None, usage: Any) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _json(data: Any) -> bytes:
    # Compact, as the API writes it.
    return json.dumps(data, separators=(",", ":")).encode()


MESSAGE_BODY = _json(_message([{"type": "text", "text": ANSWER}], "end_turn", USAGE))


def _sse_event(data: dict[str, Any]) -> bytes:
    # The Messages API names every event twice: in the SSE `event:` field and in the JSON `type`.
    kind: str = data["type"]
    return b"event: " + kind.encode() + b"\ndata: " + _json(data) + b"\n\n"


def _stream_events() -> list[bytes]:
    """Build one streamed answer, event by event, as the Messages API sends it.

    ``message_start`` (the empty message, with the input and cache counts and a first output
    token), ``content_block_start``, a ``ping``, one ``content_block_delta`` per word,
    ``content_block_stop``, ``message_delta`` (stop reason, cumulative usage), ``message_stop``.

    Returns:
        The SSE events, one ``bytes`` each, as a server writes them.
    """
    start_usage = {**USAGE, "output_tokens": START_OUTPUT_TOKENS}
    words = [word if index == 0 else " " + word for index, word in enumerate(ANSWER_WORDS)]
    return [
        _sse_event({"type": "message_start", "message": _message([], None, start_usage)}),
        _sse_event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        _sse_event({"type": "ping"}),
        *(
            _sse_event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word},
                }
            )
            for word in words
        ),
        _sse_event({"type": "content_block_stop", "index": 0}),
        _sse_event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {
                    "input_tokens": INPUT_TOKENS,
                    **CACHE_COUNTS,
                    "output_tokens": OUTPUT_TOKENS,
                },
            }
        ),
        _sse_event({"type": "message_stop"}),
    ]


STREAM_EVENTS = len(_stream_events())  # 20
# The SDK's Stream skips `ping` events, so the caller iterates one fewer.
CALLER_EVENTS = sum(1 for event in _stream_events() if not event.startswith(b"event: ping\n"))


class MockAnthropic(MockServer):
    """Answers ``POST /v1/messages`` like the real API: the ``Message``, or its event stream."""

    def __init__(self, sdk: Any) -> None:
        super().__init__(sdk, RESPONSE_HEADERS, {"cache-control": "no-cache"})
        self._events = _stream_events()

    def json_body(self, request: dict[str, Any]) -> bytes:
        """Return the ``Message``, whatever was asked."""
        return MESSAGE_BODY

    def sse_events(self, request: dict[str, Any]) -> list[bytes]:
        """Return the 20 events of the streamed ``Message``."""
        return self._events


# --------------------------------------------------------------------------------------------------
# What is measured: the calls, and what each worker runs them with.
# --------------------------------------------------------------------------------------------------

REQUEST = {"model": MODEL, "max_tokens": MAX_TOKENS, "system": SYSTEM, "messages": MESSAGES}
CASES = (
    CallCase("chat", "`messages.create` → `Message` with prompt-cache usage", 40, REQUEST),
    CallCase(
        "stream",
        f"`messages.create(stream=True)`, {STREAM_EVENTS} SSE events sent, the {CALLER_EVENTS} "
        "the SDK yields (all but `ping`) consumed",
        30,
        {**REQUEST, "stream": True},
        stream_items=CALLER_EVENTS,
        item_name="events",
    ),
)


def _messages(anthropic: Any, http_client: Any) -> Any:
    client = anthropic.Anthropic(
        api_key="sk-ant-test", base_url="https://api.anthropic.com", http_client=http_client
    )
    return client.messages


def _request_note(requests: dict[str, int]) -> str:
    return (
        f"requests {requests.get('total', 0)} ({requests.get('stream', 0)} streamed, "
        f"{STREAM_EVENTS} SSE events each)"
    )


BENCH = SdkBench(
    sdk="anthropic",
    script=os.path.abspath(__file__),
    title="Anthropic autolog overhead: tracewire vs MLflow",
    cases=CASES,
    mock=MockAnthropic,
    resource=_messages,
    expected_usage=EXPECTED_USAGE,
    patched=("anthropic.resources.messages", "Messages", "create"),
    request_note=_request_note,
    usage_gaps={
        ("mlflow", "stream"): "`mlflow.anthropic.autolog()` does not trace streams",
    },
    notes=(
        f"Expected token usage (DESIGN.md §4): input {INPUT_TOKENS} + cache read "
        f"{CACHE_READ_TOKENS:,} + cache creation {CACHE_CREATION_TOKENS} = "
        f"{EXPECTED_USAGE['input_tokens']:,}; output {OUTPUT_TOKENS}, from the stream's last "
        f"`message_delta` (cumulative), not added to `message_start`'s {START_OUTPUT_TOKENS}",
        '**MLflow does not trace Anthropic streams** (its autolog: "Streaming is not '
        'recorded"): with `stream=True` its span ends as soon as `create` returns the `Stream`, '
        "before the first event is read, with the `Stream` object's repr as output and no token "
        "usage. Its case 2 overhead is a span around the request alone; tracewire's includes "
        "following the stream to its end and recording the message and usage",
    ),
)


if __name__ == "__main__":
    sys.exit(main(BENCH, (__doc__ or "").splitlines()[0]))

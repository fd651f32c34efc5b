"""Record the Anthropic cassettes in this folder, then replay-check them.

api.anthropic.com cannot be reached from where tracewire is developed. Each cassette is therefore
produced by the real ``anthropic`` SDK talking to a fixture server on 127.0.0.1 whose answers
follow Anthropic's documented Messages API: JSON field names and nesting; SSE framed as
``event: <type>`` + ``data: <json>`` lines; ``message_start`` carrying the input and cache usage
and an initial output count; ``message_delta`` carrying CUMULATIVE usage; ``input_json_delta``
events carrying a tool's input in fragments; ``ping`` events; error bodies
``{"type": "error", "error": {...}, "request_id": ...}``.

vcrpy records each exchange. A ``before_record_request`` hook rewrites the request's URI and
``host`` header to ``https://api.anthropic.com``, so replay with ``record_mode="none"`` matches a
client built with the default base URL. ``x-api-key``, ``authorization`` and ``cookie`` are not
stored (the key was a dummy anyway).

Usage, in a throwaway venv with ``pip install anthropic vcrpy pyyaml``::

    python cassettes/anthropic/record.py                  # re-record all, then replay-check
    python cassettes/anthropic/record.py messages_stream  # only the named cassettes
    python cassettes/anthropic/record.py --check          # replay-check only

Recording is deterministic: ids are derived from the cassette name, so a re-run with the same SDK,
Python and OS rewrites identical files (only ``user-agent`` and ``x-stainless-*`` name those).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import vcr
from pydantic import BaseModel

HERE = Path(__file__).resolve().parent
# The fixture server and the recording machinery are shared with the other cassette scripts.
sys.path.insert(0, str(HERE.parent))
from _recording import (  # noqa: E402 - needs the path above
    CassetteMismatchError,
    FixtureServer,
    Json,
    Outcome,
    Recorder,
    Reply,
    main,
)

ORIGIN = "https://api.anthropic.com"
PATH = "/v1/messages"
VERTEX_REGION = "us-east5"
VERTEX_PROJECT = "tracewire-test"
VERTEX_ORIGIN = f"https://{VERTEX_REGION}-aiplatform.googleapis.com"
# Vertex AI names the model in the path and the call kind after a colon.
VERTEX_PATH = (
    f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_REGION}/publishers/anthropic/models/"
)
VERTEX_CALLS = (":rawPredict", ":streamRawPredict")
# Bedrock names the model in the path and the call kind after it.
BEDROCK_REGION = "us-east-1"
BEDROCK_ORIGIN = f"https://bedrock-runtime.{BEDROCK_REGION}.amazonaws.com"
BEDROCK_CALLS = ("/invoke", "/invoke-with-response-stream")
# A Bedrock model id (inference profiles aside): the SDK puts it into the path, quoted with ':'
# kept, and its deprecated-model check (an exact match on first-party ids) never warns for it.
BEDROCK_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
BEDROCK_RESPONSE_MODEL = "claude-haiku-4-5-20251001"
MODEL = "claude-opus-4-7"  # not on the SDK's DEPRECATED_MODELS list, so no warning
MAX_TOKENS = 64
MESSAGES = [{"role": "user", "content": "Say hello."}]
SYSTEM = "You are terse."
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
        "required": ["city"],
    },
}
WEATHER_MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
# A stand-in for a long, cached system prompt; the usage figures are what a real one would cost.
CACHED_SYSTEM = [
    {
        "type": "text",
        "text": "You are a meticulous assistant. <long reference document stands here>",
        "cache_control": {"type": "ephemeral"},
    }
]
PARSE_MESSAGES = [{"role": "user", "content": "Paris facts"}]
CITY_JSON = '{"name":"Paris","country":"France"}'
BETAS = ["token-efficient-tools-2025-02-19"]
# Extended thinking: the budget must be at least 1024 tokens and below max_tokens.
THINKING: Json = {"type": "enabled", "budget_tokens": 1024}
THINKING_MAX_TOKENS = 2048
THINKING_TEXT = ("The user wants a greeting.", " A short one will do.")
DOCUMENT_TEXT = "The grass is green. The sky is blue."
CITATION_MESSAGES = [
    {
        "role": "user",
        "content": [
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": DOCUMENT_TEXT},
                "title": "My Document",
                "citations": {"enabled": True},
            },
            {"type": "text", "text": "What color is the grass?"},
        ],
    }
]
# A char_location citation as the API documents it: the cited sentence of the plain-text document.
CITATION = {
    "type": "char_location",
    "cited_text": "The grass is green.",
    "document_index": 0,
    "document_title": "My Document",
    "start_char_index": 0,
    "end_char_index": 20,
}
# Vertex sends a bearer token in `authorization`; Bedrock a SigV4 signature there, plus the signing
# time and (with temporary credentials) a session token in x-amz-* headers.
SECRET_HEADERS = [
    "x-api-key",
    "authorization",
    "cookie",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
]
# Environment variables the SDK reads; cleared so that recordings do not depend on the shell.
SDK_ENVIRONMENT = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_OPEN_TELEMETRY",
    "ANTHROPIC_LOG",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
]


def ident(name: str, prefix: str, salt: str = "") -> str:
    """Return a stable, realistic-looking id (``msg_…``, ``toolu_…``, ``req_…``) for a cassette."""
    digest = hashlib.sha256(f"{name}/{prefix}/{salt}".encode()).hexdigest()
    return f"{prefix}_01{digest[:22]}"


def usage(
    input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_write: int = 0
) -> Json:
    """The ``usage`` object the Messages API returns, cache fields included as it sends them."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_write,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def json_reply(name: str, body: Json, status: int = 200, **headers: str) -> Reply:
    """A JSON answer, with the ``request-id`` header the API sends."""
    base = {"content-type": "application/json", "request-id": ident(name, "req")}
    return Reply(status, {**base, **headers}, [json.dumps(body)])


def sse_reply(name: str, events: list[Json]) -> Reply:
    """An SSE answer: each event as ``event: <type>`` then ``data: <compact json>`` and a blank line."""
    headers = {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "request-id": ident(name, "req"),
    }
    parts = [
        f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"
        for event in events
    ]
    return Reply(200, headers, parts)


def message(name: str, content: list[Json], stop_reason: str | None, use: Json) -> Json:
    """A ``message`` object as the API returns it."""
    return {
        "id": ident(name, "msg"),
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": use,
    }


def text_message(text: str, use: Json) -> Callable[[str, Json], Reply]:
    """Reply with one text block that ends the turn."""
    return lambda name, _request: json_reply(
        name, message(name, [{"type": "text", "text": text}], "end_turn", use)
    )


def tool_message(name: str, _request: Json) -> Reply:
    """Reply with a short text block then a ``tool_use`` block for get_weather(Paris)."""
    content: list[Json] = [
        {"type": "text", "text": "I'll check the weather in Paris."},
        {
            "type": "tool_use",
            "id": ident(name, "toolu"),
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
    ]
    return json_reply(name, message(name, content, "tool_use", usage(384, 58)))


def event_stream(
    name: str,
    blocks: list[tuple[Json, list[Json]]],
    stop_reason: str,
    start_usage: Json,
    delta_usage: Json,
) -> Reply:
    """An SSE stream: message_start, ping, each block (start, deltas, stop), message_delta, stop.

    Args:
        name: The cassette name (for ids).
        blocks: Each content block's ``content_block_start`` block and its deltas.
        stop_reason: The stop reason ``message_delta`` reports.
        start_usage: ``message_start``'s usage (input, cache, initial output count).
        delta_usage: ``message_delta``'s cumulative usage.
    """
    events: list[Json] = [
        {"type": "message_start", "message": message(name, [], None, start_usage)},
    ]
    for index, (block, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        if index == 0:
            events.append({"type": "ping"})
        events.extend(
            {"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas
        )
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": delta_usage,
        }
    )
    events.append({"type": "message_stop"})
    return sse_reply(name, events)


def text_deltas(*pieces: str) -> list[Json]:
    """``text_delta`` events for the pieces of a text."""
    return [{"type": "text_delta", "text": piece} for piece in pieces]


def text_stream(name: str, _request: Json) -> Reply:
    """Stream "Hello there!" in three deltas; output count 1 at start, 5 in message_delta."""
    return event_stream(
        name,
        [({"type": "text", "text": ""}, text_deltas("Hello", " there", "!"))],
        "end_turn",
        usage(14, 1),
        {"output_tokens": 5},
    )


def overloaded_stream(name: str, _request: Json) -> Reply:
    """Start streaming "Hello", then fail with an ``error`` event, as the API does when overloaded.

    The HTTP status is 200 by then, so the error arrives as an SSE event (``event: error``) whose
    data is the error body without a request id.
    """
    return sse_reply(
        name,
        [
            {"type": "message_start", "message": message(name, [], None, usage(14, 1))},
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {"type": "ping"},
            {"type": "content_block_delta", "index": 0, "delta": text_deltas("Hello")[0]},
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ],
    )


def tool_stream(name: str, _request: Json) -> Reply:
    """Stream a text block then a tool_use block whose input arrives as input_json_delta pieces."""
    tool_block = {
        "type": "tool_use",
        "id": ident(name, "toolu"),
        "name": "get_weather",
        "input": {},
    }
    json_pieces = ["", '{"city', '": "Pa', 'ris"}']
    return event_stream(
        name,
        [
            ({"type": "text", "text": ""}, text_deltas("I'll check", " the weather.")),
            (tool_block, [{"type": "input_json_delta", "partial_json": p} for p in json_pieces]),
        ],
        "tool_use",
        usage(384, 2),
        {"output_tokens": 61},
    )


def cached_stream(name: str, _request: Json) -> Reply:
    """A stream reading 1800 cached tokens; message_delta repeats the cumulative input figures."""
    return event_stream(
        name,
        [({"type": "text", "text": ""}, text_deltas("Hello", "!"))],
        "end_turn",
        usage(12, 1, cache_read=1800),
        {
            "input_tokens": 12,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1800,
            "output_tokens": 4,
        },
    )


def signature(name: str) -> str:
    """A stable stand-in for a thinking block's opaque, base64 ``signature``."""
    digest = b"".join(
        hashlib.sha256(f"{name}/signature/{part}".encode()).digest() for part in range(3)
    )
    return base64.b64encode(digest).decode()


def thinking_message(name: str, _request: Json) -> Reply:
    """Reply with a ``thinking`` block (text and signature) then the answer's text block."""
    content = [
        {"type": "thinking", "thinking": "".join(THINKING_TEXT), "signature": signature(name)},
        {"type": "text", "text": "Hello!"},
    ]
    return json_reply(name, message(name, content, "end_turn", usage(14, 42)))


def thinking_stream(name: str, _request: Json) -> Reply:
    """Stream a thinking block (thinking_delta pieces, then one signature_delta) and a text block."""
    thinking_block = {"type": "thinking", "thinking": "", "signature": ""}
    thinking_deltas: list[Json] = [
        *({"type": "thinking_delta", "thinking": piece} for piece in THINKING_TEXT),
        {"type": "signature_delta", "signature": signature(name)},
    ]
    return event_stream(
        name,
        [
            (thinking_block, thinking_deltas),
            ({"type": "text", "text": ""}, text_deltas("Hello", "!")),
        ],
        "end_turn",
        usage(14, 3),
        {"output_tokens": 42},
    )


def citation_message(name: str, _request: Json) -> Reply:
    """Reply as the API does with citations on: the cited span is its own text block."""
    content: list[Json] = [
        {"type": "text", "text": "According to the document, "},
        {"type": "text", "text": "the grass is green", "citations": [CITATION]},
        {"type": "text", "text": "."},
    ]
    return json_reply(name, message(name, content, "end_turn", usage(610, 21)))


def citation_stream(name: str, _request: Json) -> Reply:
    """Stream the same three text blocks; the cited one gets a ``citations_delta`` first."""
    text_block = {"type": "text", "text": ""}
    cited: list[Json] = [
        {"type": "citations_delta", "citation": CITATION},
        *text_deltas("the grass ", "is green"),
    ]
    return event_stream(
        name,
        [
            (text_block, text_deltas("According to ", "the document, ")),
            (text_block, cited),
            (text_block, text_deltas(".")),
        ],
        "end_turn",
        usage(610, 1),
        {"output_tokens": 21},
    )


# -- Amazon Bedrock ---------------------------------------------------------------------------------


def bedrock_usage(input_tokens: int, output_tokens: int) -> Json:
    """``usage`` as Bedrock returns it: token and cache counts, no service tier."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def bedrock_headers(name: str, content_type: str) -> dict[str, str]:
    """The headers Bedrock Runtime answers with: its request id (a UUID) and content type."""
    digest = hashlib.sha256(f"{name}/requestid".encode()).hexdigest()
    request_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"content-type": content_type, "x-amzn-requestid": request_id}


def bedrock_message(name: str, _request: Json) -> Reply:
    """``InvokeModel``: the Messages API body, with Bedrock's token-count headers."""
    body = message(name, [{"type": "text", "text": "Hello!"}], "end_turn", bedrock_usage(14, 5))
    body["model"] = BEDROCK_RESPONSE_MODEL
    headers = {
        **bedrock_headers(name, "application/json"),
        "x-amzn-bedrock-invocation-latency": "412",
        "x-amzn-bedrock-output-token-count": "5",
        "x-amzn-bedrock-input-token-count": "14",
    }
    return Reply(200, headers, [json.dumps(body)])


def event_stream_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """Encode one AWS event-stream message (what botocore's ``EventStreamBuffer`` decodes).

    The framing: a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the
    headers (each a 1-byte name length, the name, type 7 = string, a 2-byte value length, the
    value), the payload, and a CRC32 of everything before it. All integers are big-endian.
    botocore only decodes this framing, hence this encoder.
    """
    encoded_headers = b"".join(
        struct.pack(">B", len(key)) + key + b"\x07" + struct.pack(">H", len(value)) + value
        for key, value in ((k.encode(), v.encode()) for k, v in headers.items())
    )
    total_length = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total_length, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    frame = prelude + encoded_headers + payload
    return frame + struct.pack(">I", zlib.crc32(frame))


# The headers of every frame carrying a model event (the service model's `chunk` event).
CHUNK_HEADERS = {
    ":event-type": "chunk",
    ":content-type": "application/json",
    ":message-type": "event",
}


def chunk_frame(event: Json) -> bytes:
    """One Messages API stream event as Bedrock frames it: ``{"bytes": <base64 of its JSON>}``."""
    data = base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
    return event_stream_frame(CHUNK_HEADERS, json.dumps({"bytes": data}).encode())


def bedrock_stream(name: str, _request: Json) -> Reply:
    """``InvokeModelWithResponseStream``: each Messages API stream event in one ``chunk`` frame.

    A chunk's payload is ``{"bytes": "<base64 of the event's JSON>"}``. Bedrock sends no ``ping``
    and adds ``amazon-bedrock-invocationMetrics`` to ``message_stop``.
    """
    start = message(name, [], None, bedrock_usage(14, 1))
    start["model"] = BEDROCK_RESPONSE_MODEL
    events: list[Json] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": delta}
            for delta in text_deltas("Hello", " there", "!")
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 14,
                "outputTokenCount": 5,
                "invocationLatency": 412,
                "firstByteLatency": 231,
            },
        },
    ]
    frames = [chunk_frame(event) for event in events]
    headers = {
        **bedrock_headers(name, "application/vnd.amazon.eventstream"),
        "x-amzn-bedrock-content-type": "application/json",
    }
    return Reply(200, headers, frames)


def error(status: int, kind: str, text: str, **headers: str) -> Callable[[str, Json], Reply]:
    """Reply with the API's error body."""

    def reply(name: str, _request: Json) -> Reply:
        body = {
            "type": "error",
            "error": {"type": kind, "message": text},
            "request_id": ident(name, "req"),
        }
        return json_reply(name, body, status, **headers)

    return reply


RATE_LIMIT_HEADERS = {
    "retry-after": "7",
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "0",
    "anthropic-ratelimit-requests-reset": "2026-11-21T23:00:07Z",
}


# -- what each cassette's call reports -------------------------------------------------------------


def summarize_message(result: Any) -> Outcome:
    """The facts of a non-streamed Message, and its full dump for the live/replay comparison."""
    facts = {
        "content": [block.type for block in result.content],
        "stop_reason": result.stop_reason,
        "usage": result.usage.model_dump(exclude_none=True),
    }
    return Outcome(facts, result.model_dump())


def summarize_events(stream: Any) -> Outcome:
    """The facts of a raw event stream, and every event's dump."""
    events = list(stream)
    return Outcome(
        {"events": [event.type for event in events]}, [event.model_dump() for event in events]
    )


def summarize_failed_events(stream: Any) -> Outcome:
    """The facts of a raw event stream that fails mid-way: the events before, and the error."""
    events = []
    try:
        for event in stream:
            events.append(event)
    except anthropic.APIStatusError as exc:
        facts = {"events": [event.type for event in events], "error": type(exc).__name__}
        return Outcome(facts, [*(event.model_dump() for event in events), exc.body])
    raise CassetteMismatchError("the stream did not fail")


def summarize_error(call: Callable[[], Any]) -> Outcome:
    """The facts of a call that must fail with an ``APIStatusError``."""
    try:
        call()
    except anthropic.APIStatusError as exc:
        return Outcome({"status": exc.status_code, "error": type(exc).__name__}, exc.body)
    raise CassetteMismatchError("the call did not fail")


@dataclass
class Cassette:
    """One cassette: the SDK call, the fixture server's reply, and the facts it must report."""

    name: str
    call: Callable[[Any], Outcome]
    reply: Callable[[str, Json], Reply]
    expected: Json
    origin: str = field(default=ORIGIN)
    client: Callable[[str], Any] = field(default=lambda origin: client_for(origin))  # noqa: PLW0108 - defined below


class City(BaseModel):
    """A city; pydantic sends this docstring as the schema's description."""

    name: str
    country: str


def summarize_parsed(result: Any) -> Outcome:
    """The facts of a ``messages.parse`` result: the parsed object and the usual message facts."""
    summary = summarize_message(result)
    summary.facts["parsed"] = result.parsed_output.model_dump()
    return summary


def create(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    """``messages.create`` with the arguments every cassette shares."""
    return client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, **kwargs)


def think(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    """``messages.create`` with extended thinking on (and room for its budget)."""
    request: Json = {"thinking": THINKING, **kwargs}
    return client.messages.create(model=MODEL, max_tokens=THINKING_MAX_TOKENS, **request)


def bedrock_create(client: anthropic.AnthropicBedrock, **kwargs: Any) -> Any:
    """``messages.create`` through Bedrock, which takes Bedrock's model id."""
    request: Json = {"messages": MESSAGES, "system": SYSTEM, **kwargs}
    return client.messages.create(model=BEDROCK_MODEL, max_tokens=MAX_TOKENS, **request)


# The SDK's Stream drops the API's `ping` events: callers never see them.
STREAM_EVENTS = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
]

CASSETTES = [
    Cassette(
        "messages_create",
        lambda c: summarize_message(create(c, messages=MESSAGES, system=SYSTEM)),
        text_message("Hello!", usage(14, 5)),
        {"content": ["text"], "stop_reason": "end_turn", "usage": usage(14, 5)},
    ),
    Cassette(
        "messages_stream",
        lambda c: summarize_events(create(c, messages=MESSAGES, system=SYSTEM, stream=True)),
        text_stream,
        {"events": STREAM_EVENTS},
    ),
    Cassette(
        "messages_tool_use",
        lambda c: summarize_message(create(c, messages=WEATHER_MESSAGES, tools=[WEATHER_TOOL])),
        tool_message,
        {"content": ["text", "tool_use"], "stop_reason": "tool_use", "usage": usage(384, 58)},
    ),
    Cassette(
        "messages_stream_tool_use",
        lambda c: summarize_events(
            create(c, messages=WEATHER_MESSAGES, tools=[WEATHER_TOOL], stream=True)
        ),
        tool_stream,
        {
            "events": [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                *["content_block_delta"] * 4,
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        },
    ),
    Cassette(
        "messages_prompt_caching_write",
        lambda c: summarize_message(create(c, messages=MESSAGES, system=CACHED_SYSTEM)),
        text_message("Hello!", usage(12, 5, cache_write=1800)),
        {
            "content": ["text"],
            "stop_reason": "end_turn",
            "usage": usage(12, 5, cache_write=1800),
        },
    ),
    Cassette(
        "messages_prompt_caching_read",
        lambda c: summarize_message(create(c, messages=MESSAGES, system=CACHED_SYSTEM)),
        text_message("Hello!", usage(12, 5, cache_read=1800)),
        {"content": ["text"], "stop_reason": "end_turn", "usage": usage(12, 5, cache_read=1800)},
    ),
    Cassette(
        "messages_stream_prompt_caching_read",
        lambda c: summarize_events(create(c, messages=MESSAGES, system=CACHED_SYSTEM, stream=True)),
        cached_stream,
        {"events": [*STREAM_EVENTS[:3], *STREAM_EVENTS[4:]]},
    ),
    Cassette(
        "messages_parse",
        lambda c: summarize_parsed(
            c.messages.parse(
                model=MODEL, max_tokens=MAX_TOKENS, messages=PARSE_MESSAGES, output_format=City
            )
        ),
        text_message(CITY_JSON, usage(60, 10)),
        {
            "content": ["text"],
            "stop_reason": "end_turn",
            "usage": usage(60, 10),
            "parsed": {"name": "Paris", "country": "France"},
        },
    ),
    Cassette(
        "beta_messages_create",
        lambda c: summarize_message(
            c.beta.messages.create(
                model=MODEL, max_tokens=MAX_TOKENS, messages=MESSAGES, system=SYSTEM, betas=BETAS
            )
        ),
        text_message("Hello!", usage(14, 5)),
        {"content": ["text"], "stop_reason": "end_turn", "usage": usage(14, 5)},
    ),
    Cassette(
        "beta_messages_stream",
        lambda c: summarize_events(
            c.beta.messages.create(
                model=MODEL,
                max_tokens=MAX_TOKENS,
                messages=MESSAGES,
                system=SYSTEM,
                betas=BETAS,
                stream=True,
            )
        ),
        text_stream,
        {"events": STREAM_EVENTS},
    ),
    Cassette(
        "vertex_messages_create",
        lambda c: summarize_message(create(c, messages=MESSAGES, system=SYSTEM)),
        text_message("Hello!", usage(14, 5)),
        {"content": ["text"], "stop_reason": "end_turn", "usage": usage(14, 5)},
        origin=VERTEX_ORIGIN,
        client=lambda origin: vertex_client(origin),  # noqa: PLW0108 - defined below
    ),
    Cassette(
        "vertex_messages_stream",
        lambda c: summarize_events(create(c, messages=MESSAGES, system=SYSTEM, stream=True)),
        text_stream,
        {"events": STREAM_EVENTS},
        origin=VERTEX_ORIGIN,
        client=lambda origin: vertex_client(origin),  # noqa: PLW0108 - defined below
    ),
    Cassette(
        "messages_thinking",
        lambda c: summarize_message(think(c, messages=MESSAGES)),
        thinking_message,
        {"content": ["thinking", "text"], "stop_reason": "end_turn", "usage": usage(14, 42)},
    ),
    Cassette(
        "messages_stream_thinking",
        lambda c: summarize_events(think(c, messages=MESSAGES, stream=True)),
        thinking_stream,
        {
            "events": [
                "message_start",
                "content_block_start",
                *["content_block_delta"] * 3,
                "content_block_stop",
                *STREAM_EVENTS[1:3],
                "content_block_delta",
                *STREAM_EVENTS[5:],
            ]
        },
    ),
    Cassette(
        "messages_citations",
        lambda c: summarize_message(create(c, messages=CITATION_MESSAGES)),
        citation_message,
        {"content": ["text"] * 3, "stop_reason": "end_turn", "usage": usage(610, 21)},
    ),
    Cassette(
        "messages_stream_citations",
        lambda c: summarize_events(create(c, messages=CITATION_MESSAGES, stream=True)),
        citation_stream,
        {
            "events": [
                "message_start",
                *["content_block_start", "content_block_delta", "content_block_delta"],
                "content_block_stop",
                *["content_block_start", *["content_block_delta"] * 3, "content_block_stop"],
                *["content_block_start", "content_block_delta", "content_block_stop"],
                "message_delta",
                "message_stop",
            ]
        },
    ),
    Cassette(
        "bedrock_messages_create",
        lambda c: summarize_message(bedrock_create(c)),
        bedrock_message,
        {"content": ["text"], "stop_reason": "end_turn", "usage": bedrock_usage(14, 5)},
        origin=BEDROCK_ORIGIN,
        client=lambda origin: bedrock_client(origin),  # noqa: PLW0108 - defined below
    ),
    Cassette(
        "bedrock_messages_stream",
        lambda c: summarize_events(bedrock_create(c, stream=True)),
        bedrock_stream,
        {"events": STREAM_EVENTS},
        origin=BEDROCK_ORIGIN,
        client=lambda origin: bedrock_client(origin),  # noqa: PLW0108 - defined below
    ),
    Cassette(
        "messages_error_429",
        lambda c: summarize_error(lambda: create(c, messages=MESSAGES)),
        error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit.",
            **RATE_LIMIT_HEADERS,
        ),
        {"status": 429, "error": "RateLimitError"},
    ),
    Cassette(
        "messages_stream_overloaded",
        lambda c: summarize_failed_events(create(c, messages=MESSAGES, system=SYSTEM, stream=True)),
        overloaded_stream,
        {
            "events": ["message_start", "content_block_start", "content_block_delta"],
            # The status was 200: the SDK raises its base APIStatusError, not OverloadedError.
            "error": "APIStatusError",
        },
    ),
    Cassette(
        "messages_error_529",
        lambda c: summarize_error(lambda: create(c, messages=MESSAGES)),
        error(529, "overloaded_error", "Overloaded"),
        {"status": 529, "error": "OverloadedError"},
    ),
]


# -- clients and the fixture server's routing ------------------------------------------------------


def client_for(origin: str) -> anthropic.Anthropic:
    """The client every cassette is recorded and replayed with (no retries, dummy key)."""
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=origin, max_retries=0)


def vertex_client(origin: str) -> anthropic.AnthropicVertex:
    """A Vertex AI client with a dummy access token (no Google credentials are looked up)."""
    base_url = None if origin == VERTEX_ORIGIN else f"{origin}/v1"
    return anthropic.AnthropicVertex(
        region=VERTEX_REGION,
        project_id=VERTEX_PROJECT,
        access_token="ya29.test",
        base_url=base_url,
        max_retries=0,
    )


def bedrock_client(origin: str) -> anthropic.AnthropicBedrock:
    """A Bedrock client with dummy static keys: botocore signs offline, nothing is looked up."""
    return anthropic.AnthropicBedrock(
        aws_access_key="test",
        aws_secret_key="test",
        aws_region=BEDROCK_REGION,
        base_url=None if origin == BEDROCK_ORIGIN else origin,
        max_retries=0,
    )


def answer(cassette: Cassette | None, path: str, request: Json) -> Reply:
    """Answer ``POST /v1/messages`` (or a Vertex AI or Bedrock call) with the cassette's reply.

    Anything else gets a 404, so that a recording of an unexpected request fails.
    """
    path = path.partition("?")[0]  # the beta resource may add `?beta=true`, per SDK version
    vertex = path.startswith(VERTEX_PATH) and path.endswith(VERTEX_CALLS)
    bedrock = path.startswith("/model/") and path.endswith(BEDROCK_CALLS)
    if cassette is None or (path != PATH and not vertex and not bedrock):
        return Reply(404, {"content-type": "application/json"}, ['{"type":"error"}'])
    return cassette.reply(cassette.name, request)


if __name__ == "__main__":
    sys.exit(
        main(
            None,
            description="Record and check the Anthropic cassettes.",
            cassettes=CASSETTES,
            recorder=Recorder(HERE, SECRET_HEADERS),
            server=lambda: FixtureServer(answer, content_length=True),
            sdk_environment=SDK_ENVIRONMENT,
            banner=f"anthropic {anthropic.__version__}, vcrpy {vcr.__version__}",
        )
    )

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

import hashlib
import json
import sys
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
SECRET_HEADERS = ["x-api-key", "authorization", "cookie"]  # Vertex: a bearer token
# Environment variables the SDK reads; cleared so that recordings do not depend on the shell.
SDK_ENVIRONMENT = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_OPEN_TELEMETRY",
    "ANTHROPIC_LOG",
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
    content = [
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


def answer(cassette: Cassette | None, path: str, request: Json) -> Reply:
    """Answer ``POST /v1/messages`` (or a Vertex AI call) with the cassette's reply, else a 404."""
    path = path.partition("?")[0]  # the beta resource may add `?beta=true`, per SDK version
    vertex = path.startswith(VERTEX_PATH) and path.endswith(VERTEX_CALLS)
    if cassette is None or (path != PATH and not vertex):
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

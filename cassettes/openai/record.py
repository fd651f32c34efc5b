"""Record the OpenAI cassettes in this folder, then replay-check them.

api.openai.com cannot be reached from where tracewire is developed, so each cassette is produced
by the real ``openai`` SDK talking to a small fixture server on 127.0.0.1. That server answers
with bodies written to follow the public OpenAI API reference: field names, nesting and SSE
framing. The ``azure_*`` and ``compat_*`` cassettes follow what Azure OpenAI and an
OpenAI-compatible server send. vcrpy records each exchange. A ``before_record_request`` hook
rewrites the request's URI and ``host`` header to the host the tests' client uses
(api.openai.com, the Azure endpoint or localhost:8000), so replay with ``record_mode="none"``
matches a client built with that base URL. ``authorization``, ``api-key`` and ``cookie`` are
dropped.

Usage, in a throwaway venv with ``pip install openai vcrpy pyyaml``::

    python cassettes/openai/record.py                 # re-record all, then replay-check them
    python cassettes/openai/record.py chat_parse      # re-record only the named cassettes
    python cassettes/openai/record.py --check         # replay-check only (openai >= 1.40)

Recording is deterministic. Ids, timestamps and vectors are derived from the cassette name, so
a re-run with the same openai version, Python and OS rewrites identical files. Only the
``user-agent`` and ``x-stainless-*`` request headers name those three.

After recording, every cassette is replayed with no server and the client built for the final
host. The replayed parsed objects must equal the ones the live call returned. The facts the
table below expects must also hold: text, finish reason, usage and error status. ``--check``
replays and checks only those facts. It works with older SDKs too: openai 1.40 needs
``httpx<0.28`` and numpy, since 1.40 decodes base64 embeddings with numpy. Cassettes that use
the Responses API are skipped when the SDK has none. Arguments an old SDK lacks go into
``extra_body``, so the request body stays the same.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import itertools
import json
import struct
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import vcr
from openai import AzureOpenAI, OpenAI
from pydantic import create_model

HERE = Path(__file__).resolve().parent
# The fixture server and the recording machinery are shared with the other cassette scripts.
sys.path.insert(0, str(HERE.parent))
from _recording import (  # noqa: E402 - needs the path above
    FixtureServer,
    Json,
    Outcome,
    Recorder,
    Reply,
    main,
    require,
)

OPENAI_ORIGIN = "https://api.openai.com"
AZURE_ORIGIN = "https://tracewire-test.openai.azure.com"
COMPAT_ORIGIN = "http://localhost:8000"
AZURE_API_VERSION = "2024-10-21"

MODEL = "gpt-4o-mini"
MODEL_SNAPSHOT = "gpt-4o-mini-2024-07-18"
REASONING_MODEL = "o4-mini"
REASONING_SNAPSHOT = "o4-mini-2025-04-16"
RESPONSES_MODEL = "gpt-4.1-mini"
RESPONSES_SNAPSHOT = "gpt-4.1-mini-2025-04-14"
COMPAT_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
EMBEDDING_MODEL = "text-embedding-3-small"
LEGACY_MODEL = "gpt-3.5-turbo-instruct"

MESSAGES: list[Json] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]
SYSTEM_PROMPT_STAND_IN = (
    "You are the support assistant of Tracewire, a tracing library for LLM applications. "
    "Answer in one sentence. [Stand-in for a ~2,000-token policy document: the cassette's "
    "usage says 2,006 prompt tokens of which 1,920 were served from the prompt cache.]"
)
WEATHER_PARAMETERS: Json = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
    "required": ["city"],
    "additionalProperties": False,
}
CHAT_WEATHER_TOOL: Json = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": WEATHER_PARAMETERS,
    },
}
RESPONSES_WEATHER_TOOL: Json = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": WEATHER_PARAMETERS,
    "strict": True,
}
# Embedding vectors, dimension 8. Multiples of 1/1024 survive float32 exactly, so the replay
# check can compare them with ==.
VECTORS: dict[str, list[float]] = {
    "hello": [0.0234375, -0.0478515625, 0.01171875, 0.0615234375, -0.0302734375, 0.0087890625,
              -0.0556640625, 0.0419921875],
    "world": [-0.0126953125, 0.0380859375, 0.0537109375, -0.0205078125, 0.0029296875,
              -0.0634765625, 0.0166015625, 0.0458984375],
}  # fmt: skip
# Variables the SDK reads; unset so that only the arguments below configure the clients.
SDK_ENVIRONMENT = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_AD_TOKEN",
]


# Structured-output schema of the ``*_parse`` cassettes. Built with create_model so that, like a
# plain ``class City(BaseModel)`` in a test, its JSON schema has no description.
City = create_model("City", name=(str, ...), country=(str, ...))


# ------------------------------------------------------------------------------------------------
# Deterministic ids, timestamps and headers


@dataclass(frozen=True)
class Fixture:
    """Fixed, name-derived values for one cassette's response (ids, timestamps, headers).

    Attributes:
        name: The cassette name; every value below is derived from it.
    """

    name: str

    def _digest(self, salt: str) -> bytes:
        return hashlib.sha256(f"{self.name}/{salt}".encode()).digest()

    def hex(self, salt: str, length: int) -> str:
        """Return ``length`` lowercase hex digits derived from the name and ``salt``."""
        return self._digest(salt).hex()[:length]

    def alnum(self, salt: str, length: int) -> str:
        """Return ``length`` characters of ``[0-9A-Za-z]`` derived from the name and ``salt``."""
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        number = int.from_bytes(self._digest(salt) + self._digest(salt + "+"), "big")
        chars = []
        for _ in range(length):
            number, digit = divmod(number, len(alphabet))
            chars.append(alphabet[digit])
        return "".join(chars)

    def number(self, salt: str, low: int, high: int) -> int:
        """Return an integer in ``[low, high)`` derived from the name and ``salt``."""
        return low + int.from_bytes(self._digest(salt)[:4], "big") % (high - low)

    @property
    def created(self) -> int:
        """Unix time of the response, within the day after 2025-10-20 22:40 UTC."""
        return self.number("created", 1_761_000_000, 1_761_086_400)

    @property
    def fingerprint(self) -> str:
        """An OpenAI ``system_fingerprint`` (``fp_`` and 10 hex digits)."""
        return "fp_" + self.hex("fingerprint", 10)

    def uuid(self, salt: str) -> str:
        """Return a UUID-formatted id derived from the name and ``salt``."""
        return str(uuid.UUID(hex=self.hex(salt, 32)))

    def openai_headers(self, content_type: str = "application/json") -> dict[str, str]:
        """Return the response headers api.openai.com sends, reduced to the useful ones."""
        return {
            "content-type": content_type,
            "openai-processing-ms": str(self.number("processing-ms", 180, 900)),
            "openai-version": "2020-10-01",
            "x-request-id": "req_" + self.hex("request-id", 32),
        }

    def azure_headers(self, content_type: str = "application/json") -> dict[str, str]:
        """Return the response headers Azure OpenAI sends, reduced to the useful ones."""
        return {
            "content-type": content_type,
            "apim-request-id": self.uuid("apim-request-id"),
            "x-request-id": self.uuid("request-id"),
            "x-ms-region": "Sweden Central",
        }


# ------------------------------------------------------------------------------------------------
# Body and SSE helpers

EVENT_STREAM = "text/event-stream; charset=utf-8"


def pretty(body: Json) -> str:
    """Serialize a non-streamed JSON body the way api.openai.com does (two-space indent)."""
    return json.dumps(body, indent=2)


def compact(body: Json, *, sort_keys: bool = False) -> str:
    """Serialize one JSON object on one line, as in SSE ``data:`` lines and Azure bodies."""
    return json.dumps(body, separators=(",", ":"), sort_keys=sort_keys)


def sse_data(chunks: Iterable[str]) -> list[str]:
    """Frame chat/legacy-completion chunks as SSE, ending with ``data: [DONE]``."""
    return [f"data: {chunk}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]


def sse_events(events: Iterable[Json]) -> list[str]:
    """Frame Responses API events as SSE (``event:`` plus ``data:``, no ``[DONE]``)."""
    return [f"event: {event['type']}\ndata: {compact(event)}\n\n" for event in events]


def include_usage(request: Json) -> bool:
    """Tell whether the request asked for a usage chunk (``stream_options.include_usage``)."""
    return bool((request.get("stream_options") or {}).get("include_usage"))


def chat_usage(prompt: int, completion: int, *, cached: int = 0, reasoning: int = 0) -> Json:
    """Return the full current chat-completions usage object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def plain_usage(prompt: int, completion: int) -> Json:
    """Return a usage object without details (legacy completions, compatible servers)."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def responses_usage(input_tokens: int, output_tokens: int, *, cached: int = 0) -> Json:
    """Return the Responses API usage object."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def azure_filter_results() -> Json:
    """Return Azure's content filter verdicts for harmless text."""
    safe = {"filtered": False, "severity": "safe"}
    return {"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}


USAGE_CHAT = chat_usage(19, 2)
USAGE_CHAT_STREAM = chat_usage(19, 3)
USAGE_PROMPT_CACHING = chat_usage(2006, 12, cached=1920)
USAGE_REASONING = chat_usage(13, 150, reasoning=128)
USAGE_CHAT_PARSE = chat_usage(60, 10)
USAGE_TOOL_CALLS = chat_usage(61, 46)
USAGE_COMPAT = plain_usage(12, 4)
USAGE_LEGACY = plain_usage(3, 4)
USAGE_EMBEDDINGS = {"prompt_tokens": 2, "total_tokens": 2}
USAGE_RESPONSES = responses_usage(20, 3, cached=4)
USAGE_RESPONSES_STREAM = responses_usage(20, 3)
USAGE_RESPONSES_TOOL = responses_usage(58, 17)
USAGE_RESPONSES_PARSE = responses_usage(70, 12)
CITY_JSON = '{"name":"Paris","country":"France"}'
PARIS = {"name": "Paris", "country": "France"}


# ------------------------------------------------------------------------------------------------
# Fixture answers: chat completions


def chat_completion_body(
    fx: Fixture, content: str, usage: Json, *, model: str = MODEL_SNAPSHOT, fingerprint: bool = True
) -> Json:
    """Return a ``chat.completion`` object with one assistant choice.

    Args:
        fx: The cassette's fixed values.
        content: The assistant message text.
        usage: The usage object.
        model: The model snapshot that answered.
        fingerprint: Whether to set ``system_fingerprint`` (o-series answers have null).
    """
    return {
        "id": "chatcmpl-" + fx.alnum("id", 29),
        "object": "chat.completion",
        "created": fx.created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": fx.fingerprint if fingerprint else None,
    }


def chat_json(content: str, usage: Json, **kwargs: Any) -> Callable[[Fixture, Json], Reply]:
    """Answer a non-streamed chat completion from api.openai.com."""

    def reply(fx: Fixture, request: Json) -> Reply:
        body = chat_completion_body(fx, content, usage, **kwargs)
        return Reply(200, fx.openai_headers(), [pretty(body)])

    return reply


def chat_chunks(fx: Fixture, request: Json, deltas: list[Json], finish: str, usage: Json) -> Reply:
    """Answer a streamed chat completion the way api.openai.com streams it.

    Args:
        fx: The cassette's fixed values.
        request: The request body; ``stream_options.include_usage`` adds the usage chunk.
        deltas: The ``delta`` of each chunk before the finish chunk, role chunk first.
        finish: The ``finish_reason`` of the finish chunk (whose delta is ``{}``).
        usage: The usage of the usage-only chunk.
    """
    with_usage = include_usage(request)

    def chunk(choices: list[Json], chunk_usage: Json | None = None) -> str:
        body: Json = {
            "id": "chatcmpl-" + fx.alnum("id", 29),
            "object": "chat.completion.chunk",
            "created": fx.created,
            "model": MODEL_SNAPSHOT,
            "service_tier": "default",
            "system_fingerprint": fx.fingerprint,
            "choices": choices,
        }
        if with_usage:
            body["usage"] = chunk_usage
        return compact(body)

    def choice(delta: Json, finish_reason: str | None = None) -> Json:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    chunks = [chunk([choice(delta)]) for delta in deltas]
    chunks.append(chunk([choice({}, finish)]))
    if with_usage:
        chunks.append(chunk([], usage))
    return Reply(200, fx.openai_headers(EVENT_STREAM), sse_data(chunks))


def chat_stream(pieces: list[str], usage: Json) -> Callable[[Fixture, Json], Reply]:
    """Answer a streamed chat completion whose text arrives in ``pieces``."""

    def reply(fx: Fixture, request: Json) -> Reply:
        deltas = [{"role": "assistant", "content": "", "refusal": None}]
        deltas += [{"content": piece} for piece in pieces]
        return chat_chunks(fx, request, deltas, "stop", usage)

    return reply


def argument_fragments(arguments: str) -> list[str]:
    """Split a tool call's JSON arguments into the small fragments the model streams."""
    cuts = [0, 4, 9, 13, len(arguments)]
    return [arguments[start:end] for start, end in itertools.pairwise(cuts)]


def chat_tool_calls(fx: Fixture, request: Json) -> Reply:
    """Answer with two parallel ``get_weather`` tool calls, streamed."""
    deltas: list[Json] = [{"role": "assistant", "content": None, "refusal": None}]
    for index, city in enumerate(["Paris", "Tokyo"]):
        header = {
            "index": index,
            "id": "call_" + fx.alnum(f"call-{index}", 24),
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
        deltas.append({"tool_calls": [header]})
        for fragment in argument_fragments(json.dumps({"city": city})):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    return chat_chunks(fx, request, deltas, "tool_calls", USAGE_TOOL_CALLS)


def chat_error(status: int, error: Json, extra_headers: dict[str, str]) -> Callable[..., Reply]:
    """Answer with an OpenAI error body (api.openai.com indents these by four spaces)."""

    def reply(fx: Fixture, request: Json) -> Reply:
        headers = fx.openai_headers() | extra_headers
        return Reply(status, headers, [json.dumps({"error": error}, indent=4) + "\n"])

    return reply


RATE_LIMIT_ERROR: Json = {
    "message": (
        "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500, Used 500, "
        "Requested 1. Please try again in 1s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    ),
    "type": "requests",
    "param": None,
    "code": "rate_limit_exceeded",
}
RATE_LIMIT_HEADERS = {
    "retry-after": "1",
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-limit-tokens": "200000",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-remaining-tokens": "199978",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-reset-tokens": "6ms",
}
SERVER_ERROR: Json = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": None,
}


# ------------------------------------------------------------------------------------------------
# Fixture answers: OpenAI-compatible server and Azure


def compat_stream(pieces: list[str]) -> Callable[[Fixture, Json], Reply]:
    """Answer like an OpenAI-compatible server (vLLM style chunks, no fingerprint or tier).

    The last piece of text arrives on the chunk with ``finish_reason``. With ``include_usage``
    this server puts ``usage`` on that same chunk and sends no usage-only chunk.
    """

    def reply(fx: Fixture, request: Json) -> Reply:
        def chunk(delta: Json, finish: str | None = None, usage: Json | None = None) -> str:
            choice: Json = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            if finish is not None:
                choice["stop_reason"] = None
            body: Json = {
                "id": "chatcmpl-" + fx.hex("id", 32),
                "object": "chat.completion.chunk",
                "created": fx.created,
                "model": COMPAT_MODEL,
                "choices": [choice],
            }
            if usage is not None:
                body["usage"] = usage
            return compact(body)

        *first, last = pieces
        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": piece}) for piece in first]
        last_usage = USAGE_COMPAT if include_usage(request) else None
        chunks.append(chunk({"content": last}, "stop", last_usage))
        return Reply(200, {"content-type": EVENT_STREAM}, sse_data(chunks))

    return reply


def azure_chat(fx: Fixture, request: Json) -> Reply:
    """Answer a non-streamed chat completion the way Azure OpenAI does (keys sorted)."""
    body = {
        "choices": [
            {
                "content_filter_results": azure_filter_results(),
                "finish_reason": "stop",
                "index": 0,
                "logprobs": None,
                "message": {"content": "Hello!", "refusal": None, "role": "assistant"},
            }
        ],
        "created": fx.created,
        "id": "chatcmpl-" + fx.alnum("id", 29),
        "model": MODEL_SNAPSHOT,
        "object": "chat.completion",
        "prompt_filter_results": [
            {"prompt_index": 0, "content_filter_results": azure_filter_results()}
        ],
        "system_fingerprint": fx.fingerprint,
        "usage": USAGE_CHAT,
    }
    return Reply(200, fx.azure_headers(), [compact(body, sort_keys=True)])


def azure_stream(fx: Fixture, request: Json) -> Reply:
    """Answer a streamed chat completion the way Azure OpenAI does.

    The first chunk carries only ``prompt_filter_results`` (empty id, model and object, created
    0, no choices); content chunks carry ``content_filter_results``.
    """
    with_usage = include_usage(request)

    def chunk(choices: list[Json], usage: Json | None = None) -> str:
        body: Json = {
            "choices": choices,
            "created": fx.created,
            "id": "chatcmpl-" + fx.alnum("id", 29),
            "model": MODEL_SNAPSHOT,
            "object": "chat.completion.chunk",
            "system_fingerprint": fx.fingerprint,
        }
        if with_usage:
            body["usage"] = usage
        return compact(body, sort_keys=True)

    def choice(delta: Json, filters: Json, finish: str | None = None) -> Json:
        return {
            "content_filter_results": filters,
            "delta": delta,
            "finish_reason": finish,
            "index": 0,
            "logprobs": None,
        }

    prompt_filter = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [
            {"prompt_index": 0, "content_filter_results": azure_filter_results()}
        ],
    }
    chunks = [compact(prompt_filter, sort_keys=True)]
    chunks.append(chunk([choice({"content": "", "refusal": None, "role": "assistant"}, {})]))
    chunks += [
        chunk([choice({"content": piece}, azure_filter_results())]) for piece in ["Hel", "lo", "!"]
    ]
    chunks.append(chunk([choice({}, {}, "stop")]))
    if with_usage:
        chunks.append(chunk([], USAGE_CHAT_STREAM))
    return Reply(200, fx.azure_headers(EVENT_STREAM), sse_data(chunks))


# ------------------------------------------------------------------------------------------------
# Fixture answers: Responses API, embeddings, legacy completions


def response_object(
    fx: Fixture, request: Json, *, status: str, output: list[Json], usage: Json | None
) -> Json:
    """Return a ``response`` object echoing the request's settings, as the API does.

    Args:
        fx: The cassette's fixed values.
        request: The request body (instructions, tools and text format are echoed).
        status: ``in_progress`` or ``completed``.
        output: The output items.
        usage: The usage object, or None while in progress.
    """
    text_format = dict((request.get("text") or {}).get("format") or {"type": "text"})
    if text_format["type"] == "json_schema":
        text_format.setdefault("description", None)
    return {
        "id": "resp_" + fx.hex("response-id", 48),
        "object": "response",
        "created_at": fx.created,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": RESPONSES_SNAPSHOT,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": text_format},
        "tool_choice": "auto",
        "tools": request.get("tools", []),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def output_text_part(text: str) -> Json:
    """Return an ``output_text`` content part."""
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def message_item(fx: Fixture, text: str) -> Json:
    """Return a completed assistant ``message`` output item."""
    return {
        "id": "msg_" + fx.hex("message-id", 48),
        "type": "message",
        "status": "completed",
        "content": [output_text_part(text)],
        "role": "assistant",
    }


def responses_message(text: str, usage: Json) -> Callable[[Fixture, Json], Reply]:
    """Answer a non-streamed Responses API call with one assistant message."""

    def reply(fx: Fixture, request: Json) -> Reply:
        output = [message_item(fx, text)]
        body = response_object(fx, request, status="completed", output=output, usage=usage)
        return Reply(200, fx.openai_headers(), [pretty(body)])

    return reply


def responses_function_call(fx: Fixture, request: Json) -> Reply:
    """Answer with one ``function_call`` output item."""
    item = {
        "id": "fc_" + fx.hex("function-call-id", 48),
        "type": "function_call",
        "status": "completed",
        "arguments": '{"city":"Paris"}',
        "call_id": "call_" + fx.alnum("call-id", 24),
        "name": "get_weather",
    }
    body = response_object(
        fx, request, status="completed", output=[item], usage=USAGE_RESPONSES_TOOL
    )
    return Reply(200, fx.openai_headers(), [pretty(body)])


def responses_stream(fx: Fixture, request: Json) -> Reply:
    """Stream one assistant message ("Hel", "lo", "!") as Responses API events."""
    pieces = ["Hel", "lo", "!"]
    text = "".join(pieces)
    done_item = message_item(fx, text)
    item_id = done_item["id"]
    position = {"item_id": item_id, "output_index": 0, "content_index": 0}
    in_progress = response_object(fx, request, status="in_progress", output=[], usage=None)
    events: list[Json] = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": done_item | {"status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **position, "part": output_text_part("")},
    ]
    events += [
        {"type": "response.output_text.delta", **position, "delta": piece, "logprobs": []}
        for piece in pieces
    ]
    events += [
        {"type": "response.output_text.done", **position, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **position, "part": output_text_part(text)},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {
            "type": "response.completed",
            "response": response_object(
                fx, request, status="completed", output=[done_item], usage=USAGE_RESPONSES_STREAM
            ),
        },
    ]
    numbered = [
        {"type": event["type"], "sequence_number": number}
        | {key: value for key, value in event.items() if key != "type"}
        for number, event in enumerate(events)
    ]
    return Reply(200, fx.openai_headers(EVENT_STREAM), sse_events(numbered))


def embeddings(fx: Fixture, request: Json) -> Reply:
    """Answer with fixed 8-dimensional vectors, base64 float32 LE when asked (SDK default)."""
    data = []
    for index, text in enumerate(request["input"]):
        vector = VECTORS[text]
        if request.get("encoding_format") == "base64":
            packed = struct.pack(f"<{len(vector)}f", *vector)
            embedding: Any = base64.b64encode(packed).decode()
        else:
            embedding = vector
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    body = {"object": "list", "data": data, "model": request["model"], "usage": USAGE_EMBEDDINGS}
    return Reply(200, fx.openai_headers(), [pretty(body)])


def legacy_completion(fx: Fixture, request: Json) -> Reply:
    """Answer a legacy ``text_completion``, streamed or not as the request asked."""
    ident = {"id": "cmpl-" + fx.alnum("id", 29), "object": "text_completion", "created": fx.created}

    def choice(text: str, finish: str | None) -> Json:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

    if not request.get("stream"):
        body = ident | {
            "model": LEGACY_MODEL,
            "system_fingerprint": fx.fingerprint,
            "choices": [choice("\n\nHello!", "stop")],
            "usage": USAGE_LEGACY,
        }
        return Reply(200, fx.openai_headers(), [pretty(body)])

    with_usage = include_usage(request)

    def chunk(choices: list[Json], usage: Json | None = None) -> str:
        body = ident | {
            "choices": choices,
            "model": LEGACY_MODEL,
            "system_fingerprint": fx.fingerprint,
        }
        if with_usage:
            body["usage"] = usage
        return compact(body)

    chunks = [chunk([choice(piece, None)]) for piece in ["\n\n", "Hello", "!"]]
    chunks.append(chunk([choice("", "stop")]))
    if with_usage:
        chunks.append(chunk([], USAGE_LEGACY))
    return Reply(200, fx.openai_headers(EVENT_STREAM), sse_data(chunks))


# ------------------------------------------------------------------------------------------------
# Clients and calls (the calls work on openai 1.40 through 3.x)


def openai_client(origin: str) -> OpenAI:
    """Return the default client: ``OpenAI(api_key="sk-test", base_url=origin + "/v1")``."""
    return OpenAI(api_key="sk-test", base_url=f"{origin}/v1", max_retries=0)


def azure_client(origin: str) -> OpenAI:
    """Return the Azure client, whose endpoint is ``origin``."""
    return AzureOpenAI(
        api_key="test", api_version=AZURE_API_VERSION, azure_endpoint=origin, max_retries=0
    )


def invoke(method: Callable[..., Any], **kwargs: Any) -> Any:
    """Call an SDK method, moving arguments this SDK version lacks into ``extra_body``.

    openai 1.40 has no ``reasoning_effort`` or ``max_completion_tokens``; sent through
    ``extra_body`` they produce the same request body.
    """
    accepted = inspect.signature(method).parameters
    extra = {name: kwargs.pop(name) for name in list(kwargs) if name not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return method(**kwargs)


def chat_parse_method(client: OpenAI) -> Callable[..., Any]:
    """Return ``chat.completions.parse`` (``beta.chat.completions.parse`` before openai 1.92)."""
    parse = getattr(client.chat.completions, "parse", None)
    return parse if parse is not None else client.beta.chat.completions.parse


def chat_stream_helper(client: OpenAI) -> Callable[..., Any]:
    """Return ``chat.completions.stream`` (``beta.chat.completions.stream`` on old SDKs)."""
    stream = getattr(client.chat.completions, "stream", None)
    return stream if stream is not None else client.beta.chat.completions.stream


def usage_of(obj: Any) -> Json | None:
    """Dump a usage model the way the JSON had it, or None."""
    usage = getattr(obj, "usage", None)
    return None if usage is None else usage.model_dump(exclude_unset=True)


def completion_outcome(result: Any) -> Outcome:
    """Summarize a ``ChatCompletion`` or legacy ``Completion``."""
    choice = result.choices[0]
    message = getattr(choice, "message", None)
    facts = {
        "model": result.model,
        "text": message.content if message is not None else choice.text,
        "finish_reason": choice.finish_reason,
        "usage": usage_of(result),
    }
    parsed = getattr(message, "parsed", None)
    if parsed is not None:
        facts["parsed"] = parsed.model_dump()
    # warnings=False: ParsedChatCompletion.model_dump() warns about ``parsed`` (openai 3.54).
    return Outcome(facts, result.model_dump(warnings=False))


def chunks_outcome(stream: Iterable[Any]) -> Outcome:
    """Drain a chat or legacy-completion stream and summarize it."""
    chunks = list(stream)
    text, finish, usage = "", None, None
    calls: dict[int, list[str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            delta = getattr(choice, "delta", None)
            piece = delta.content if delta is not None else choice.text
            text += piece or ""
            finish = choice.finish_reason or finish
            for call in (delta.tool_calls if delta is not None else None) or []:
                entry = calls.setdefault(call.index, ["", "", ""])
                entry[0] += call.id or ""
                entry[1] += call.function.name or ""
                entry[2] += call.function.arguments or ""
        usage = usage_of(chunk) or usage
    facts: Json = {"chunks": len(chunks), "text": text, "finish_reason": finish, "usage": usage}
    if calls:
        facts["tool_calls"] = [calls[index] for index in sorted(calls)]
    return Outcome(facts, [chunk.model_dump() for chunk in chunks])


def status_error_outcome(call: Callable[[], Any]) -> Outcome:
    """Run a call that must fail with an HTTP error and summarize the error."""
    try:
        call()
    except openai.APIStatusError as error:
        facts = {
            "error": type(error).__name__,
            "status": error.status_code,
            "body": error.body,
            "retry_after": error.response.headers.get("retry-after"),
        }
        return Outcome(facts, facts)
    raise AssertionError("the call should have raised openai.APIStatusError")


def response_outcome(result: Any) -> Outcome:
    """Summarize a Responses API ``Response`` (or ``ParsedResponse``)."""
    facts: Json = {
        "model": result.model,
        "status": result.status,
        "output_types": [item.type for item in result.output],
        "text": result.output_text,
        "usage": usage_of(result),
    }
    parsed = getattr(result, "output_parsed", None)
    if parsed is not None:
        facts["parsed"] = parsed.model_dump()
    calls = [item for item in result.output if item.type == "function_call"]
    if calls:
        facts["calls"] = [[item.call_id, item.name, item.arguments] for item in calls]
    return Outcome(facts, result.model_dump())


def events_outcome(stream: Iterable[Any]) -> Outcome:
    """Drain a Responses API event stream and summarize it."""
    events = list(stream)
    final = events[-1].response
    facts = {
        "events": [event.type for event in events],
        "sequence": [event.sequence_number for event in events],
        "text": "".join(e.delta for e in events if e.type == "response.output_text.delta"),
        "usage": usage_of(final),
    }
    return Outcome(facts, [event.model_dump() for event in events])


def embeddings_outcome(result: Any) -> Outcome:
    """Summarize a ``CreateEmbeddingResponse``."""
    facts = {
        "model": result.model,
        "vectors": [item.embedding for item in result.data],
        "usage": usage_of(result),
    }
    return Outcome(facts, result.model_dump())


def chat_helper_facts(client: OpenAI) -> Json:
    """Replay ``chat_stream_with_usage`` through the ``chat.completions.stream()`` helper."""
    with chat_stream_helper(client)(
        model=MODEL, messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    return {"text": final.choices[0].message.content, "usage": usage_of(final)}


def responses_helper_facts(client: OpenAI) -> Json:
    """Replay ``responses_stream`` through the ``responses.stream()`` helper."""
    with client.responses.stream(model=RESPONSES_MODEL, input="Say hello.") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    return {"events": len(kinds), "text": final.output_text, "usage": usage_of(final)}


# ------------------------------------------------------------------------------------------------
# The cassettes


@dataclass(frozen=True)
class Cassette:
    """One cassette: how the client calls, how the fixture server answers, what to expect.

    Attributes:
        name: File name without ``.yaml``.
        origin: Scheme and host the tests' client uses; the recorded URI is rewritten to it.
        path: Request path (and query) the SDK must send; anything else gets a 404.
        client: Builds the client for an origin (the local server, or ``origin`` on replay).
        call: Makes the SDK call and summarizes the result.
        reply: The fixture server's answer to the request body.
        expected: The facts ``call`` must report, live and on replay.
        helper: Optional second replay through a streaming helper, returning facts.
        helper_expected: The facts ``helper`` must report.
        needs: A client attribute the SDK must have for the cassette to be replay-checked.
    """

    name: str
    origin: str
    path: str
    client: Callable[[str], OpenAI]
    call: Callable[[OpenAI], Outcome]
    reply: Callable[[Fixture, Json], Reply]
    expected: Json
    helper: Callable[[OpenAI], Json] | None = None
    helper_expected: Json | None = None
    needs: str = "chat"


def chat_stream_facts(text: str, usage: Json | None, chunks: int) -> Json:
    """Return the expected facts of a streamed "stop" answer."""
    return {"chunks": chunks, "text": text, "finish_reason": "stop", "usage": usage}


CASSETTES: list[Cassette] = [
    Cassette(
        name="chat_completion",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: completion_outcome(
            client.chat.completions.create(
                model=MODEL, messages=MESSAGES, temperature=0.2, max_tokens=20
            )
        ),
        reply=chat_json("Hello!", USAGE_CHAT),
        expected={
            "model": MODEL_SNAPSHOT,
            "text": "Hello!",
            "finish_reason": "stop",
            "usage": USAGE_CHAT,
        },
    ),
    Cassette(
        name="chat_stream_with_usage",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        ),
        reply=chat_stream(["Hel", "lo", "!"], USAGE_CHAT_STREAM),
        expected=chat_stream_facts("Hello!", USAGE_CHAT_STREAM, 6),
        helper=chat_helper_facts,
        helper_expected={"text": "Hello!", "usage": USAGE_CHAT_STREAM},
    ),
    Cassette(
        name="chat_stream_without_usage",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        ),
        reply=chat_stream(["Hel", "lo", "!"], USAGE_CHAT_STREAM),
        expected=chat_stream_facts("Hello!", None, 5),
    ),
    Cassette(
        name="chat_stream_default_usage",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        ),
        reply=chat_stream(["Hello", " there", "!"], USAGE_CHAT_STREAM),
        expected=chat_stream_facts("Hello there!", USAGE_CHAT_STREAM, 6),
    ),
    Cassette(
        name="compat_chat_stream",
        origin=COMPAT_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(model=COMPAT_MODEL, messages=MESSAGES, stream=True)
        ),
        reply=compat_stream(["Hel", "lo", "!"]),
        expected=chat_stream_facts("Hello!", None, 4),
    ),
    Cassette(
        name="compat_stream_usage_last_chunk",
        origin=COMPAT_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(
                model=COMPAT_MODEL,
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        ),
        reply=compat_stream(["Hel", "lo", "!"]),
        expected=chat_stream_facts("Hello!", USAGE_COMPAT, 4),
    ),
    Cassette(
        name="chat_stream_tool_calls",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "Weather in Paris and Tokyo?"}],
                tools=[CHAT_WEATHER_TOOL],
                stream=True,
                stream_options={"include_usage": True},
            )
        ),
        reply=chat_tool_calls,
        expected={
            "chunks": 13,
            "text": "",
            "finish_reason": "tool_calls",
            "usage": USAGE_TOOL_CALLS,
            "tool_calls": [
                [
                    "call_" + Fixture("chat_stream_tool_calls").alnum(f"call-{index}", 24),
                    "get_weather",
                    json.dumps({"city": city}),
                ]
                for index, city in enumerate(["Paris", "Tokyo"])
            ],
        },
    ),
    Cassette(
        name="chat_prompt_caching",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: completion_outcome(
            client.chat.completions.create(
                model=MODEL,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT_STAND_IN},
                    {"role": "user", "content": "Say hello."},
                ],
            )
        ),
        reply=chat_json("Hello! How can I help you with Tracewire today?", USAGE_PROMPT_CACHING),
        expected={
            "model": MODEL_SNAPSHOT,
            "text": "Hello! How can I help you with Tracewire today?",
            "finish_reason": "stop",
            "usage": USAGE_PROMPT_CACHING,
        },
    ),
    Cassette(
        name="chat_reasoning",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: completion_outcome(
            invoke(
                client.chat.completions.create,
                model=REASONING_MODEL,
                messages=[{"role": "user", "content": "Say hello."}],
                reasoning_effort="low",
                max_completion_tokens=300,
            )
        ),
        reply=chat_json(
            "Hello! How can I help you today?",
            USAGE_REASONING,
            model=REASONING_SNAPSHOT,
            fingerprint=False,
        ),
        expected={
            "model": REASONING_SNAPSHOT,
            "text": "Hello! How can I help you today?",
            "finish_reason": "stop",
            "usage": USAGE_REASONING,
        },
    ),
    Cassette(
        name="chat_parse",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: completion_outcome(
            chat_parse_method(client)(
                model=MODEL,
                messages=[{"role": "user", "content": "Paris facts"}],
                response_format=City,
            )
        ),
        reply=chat_json(CITY_JSON, USAGE_CHAT_PARSE),
        expected={
            "model": MODEL_SNAPSHOT,
            "text": CITY_JSON,
            "finish_reason": "stop",
            "usage": USAGE_CHAT_PARSE,
            "parsed": PARIS,
        },
    ),
    Cassette(
        name="chat_error_429",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: status_error_outcome(
            lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES)
        ),
        reply=chat_error(429, RATE_LIMIT_ERROR, RATE_LIMIT_HEADERS),
        expected={
            "error": "RateLimitError",
            "status": 429,
            "body": RATE_LIMIT_ERROR,
            "retry_after": "1",
        },
    ),
    Cassette(
        name="chat_error_500",
        origin=OPENAI_ORIGIN,
        path="/v1/chat/completions",
        client=openai_client,
        call=lambda client: status_error_outcome(
            lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES)
        ),
        reply=chat_error(500, SERVER_ERROR, {}),
        expected={
            "error": "InternalServerError",
            "status": 500,
            "body": SERVER_ERROR,
            "retry_after": None,
        },
    ),
    Cassette(
        name="responses_create",
        origin=OPENAI_ORIGIN,
        path="/v1/responses",
        client=openai_client,
        call=lambda client: response_outcome(
            client.responses.create(
                model=RESPONSES_MODEL, input="Say hello.", instructions="You are terse."
            )
        ),
        reply=responses_message("Hello!", USAGE_RESPONSES),
        expected={
            "model": RESPONSES_SNAPSHOT,
            "status": "completed",
            "output_types": ["message"],
            "text": "Hello!",
            "usage": USAGE_RESPONSES,
        },
        needs="responses",
    ),
    Cassette(
        name="responses_stream",
        origin=OPENAI_ORIGIN,
        path="/v1/responses",
        client=openai_client,
        call=lambda client: events_outcome(
            client.responses.create(model=RESPONSES_MODEL, input="Say hello.", stream=True)
        ),
        reply=responses_stream,
        expected={
            "events": [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ],
            "sequence": list(range(11)),
            "text": "Hello!",
            "usage": USAGE_RESPONSES_STREAM,
        },
        helper=responses_helper_facts,
        helper_expected={"events": 11, "text": "Hello!", "usage": USAGE_RESPONSES_STREAM},
        needs="responses",
    ),
    Cassette(
        name="responses_function_call",
        origin=OPENAI_ORIGIN,
        path="/v1/responses",
        client=openai_client,
        call=lambda client: response_outcome(
            client.responses.create(
                model=RESPONSES_MODEL, input="Weather in Paris?", tools=[RESPONSES_WEATHER_TOOL]
            )
        ),
        reply=responses_function_call,
        expected={
            "model": RESPONSES_SNAPSHOT,
            "status": "completed",
            "output_types": ["function_call"],
            "text": "",
            "usage": USAGE_RESPONSES_TOOL,
            "calls": [
                [
                    "call_" + Fixture("responses_function_call").alnum("call-id", 24),
                    "get_weather",
                    '{"city":"Paris"}',
                ]
            ],
        },
        needs="responses",
    ),
    Cassette(
        name="responses_parse",
        origin=OPENAI_ORIGIN,
        path="/v1/responses",
        client=openai_client,
        call=lambda client: response_outcome(
            client.responses.parse(model=RESPONSES_MODEL, input="Paris facts", text_format=City)
        ),
        reply=responses_message(CITY_JSON, USAGE_RESPONSES_PARSE),
        expected={
            "model": RESPONSES_SNAPSHOT,
            "status": "completed",
            "output_types": ["message"],
            "text": CITY_JSON,
            "usage": USAGE_RESPONSES_PARSE,
            "parsed": PARIS,
        },
        needs="responses",
    ),
    Cassette(
        name="embeddings",
        origin=OPENAI_ORIGIN,
        path="/v1/embeddings",
        client=openai_client,
        call=lambda client: embeddings_outcome(
            client.embeddings.create(model=EMBEDDING_MODEL, input=["hello", "world"])
        ),
        reply=embeddings,
        expected={
            "model": EMBEDDING_MODEL,
            "vectors": [VECTORS["hello"], VECTORS["world"]],
            "usage": USAGE_EMBEDDINGS,
        },
        needs="embeddings",
    ),
    Cassette(
        name="completions_legacy",
        origin=OPENAI_ORIGIN,
        path="/v1/completions",
        client=openai_client,
        call=lambda client: completion_outcome(
            client.completions.create(model=LEGACY_MODEL, prompt="Say hello.", max_tokens=5)
        ),
        reply=legacy_completion,
        expected={
            "model": LEGACY_MODEL,
            "text": "\n\nHello!",
            "finish_reason": "stop",
            "usage": USAGE_LEGACY,
        },
        needs="completions",
    ),
    Cassette(
        name="completions_legacy_stream",
        origin=OPENAI_ORIGIN,
        path="/v1/completions",
        client=openai_client,
        call=lambda client: chunks_outcome(
            client.completions.create(
                model=LEGACY_MODEL,
                prompt="Say hello.",
                max_tokens=5,
                stream=True,
                stream_options={"include_usage": True},
            )
        ),
        reply=legacy_completion,
        expected=chat_stream_facts("\n\nHello!", USAGE_LEGACY, 5),
        needs="completions",
    ),
    Cassette(
        name="azure_chat_completion",
        origin=AZURE_ORIGIN,
        path=f"/openai/deployments/{MODEL}/chat/completions?api-version={AZURE_API_VERSION}",
        client=azure_client,
        call=lambda client: completion_outcome(
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        ),
        reply=azure_chat,
        expected={
            "model": MODEL_SNAPSHOT,
            "text": "Hello!",
            "finish_reason": "stop",
            "usage": USAGE_CHAT,
        },
    ),
    Cassette(
        name="azure_chat_stream",
        origin=AZURE_ORIGIN,
        path=f"/openai/deployments/{MODEL}/chat/completions?api-version={AZURE_API_VERSION}",
        client=azure_client,
        call=lambda client: chunks_outcome(
            client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        ),
        reply=azure_stream,
        expected=chat_stream_facts("Hello!", USAGE_CHAT_STREAM, 7),
    ),
]


# ------------------------------------------------------------------------------------------------
# Recording and replay (the machinery is in cassettes/_recording.py)

SECRET_HEADERS = ["authorization", "api-key", "cookie"]
RECORDER = Recorder(HERE, SECRET_HEADERS)


def answer(cassette: Cassette | None, path: str, request: Json) -> Reply:
    """Return the current cassette's reply, or a 404 if the SDK asked for another path."""
    if cassette is None or path != cassette.path:
        error = {"message": f"unexpected path {path}", "type": "invalid_request_error"}
        return Reply(404, {"content-type": "application/json"}, [pretty({"error": error})])
    return cassette.reply(Fixture(cassette.name), request)


def check(cassette: Cassette, live: Outcome | None) -> list[str]:
    """Replay-check ``cassette``, then its streaming helper if it has one."""
    checked = RECORDER.check(cassette, live)
    if cassette.helper is not None:
        facts = RECORDER.replay(cassette, cassette.helper)
        require(
            facts == cassette.helper_expected,
            f"{cassette.name}: helper replay gave {facts}, expected {cassette.helper_expected}",
        )
        checked.append("stream helper")
    return checked


def skip(cassette: Cassette) -> str | None:
    """Say why this SDK cannot replay ``cassette`` (it lacks the API), or return ``None``."""
    if hasattr(cassette.client(cassette.origin), cassette.needs):
        return None
    return f"this SDK has no client.{cassette.needs}"


if __name__ == "__main__":
    sys.exit(
        main(
            None,
            description="Record and replay-check the OpenAI cassettes.",
            cassettes=CASSETTES,
            recorder=RECORDER,
            server=lambda: FixtureServer(answer),
            sdk_environment=SDK_ENVIRONMENT,
            banner=f"openai {openai.__version__}, vcrpy {vcr.__version__}",
            check=check,
            skip=skip,
        )
    )

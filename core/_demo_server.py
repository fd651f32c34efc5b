"""A local OpenAI-compatible server for ``tracewire demo``: ``POST /v1/chat/completions`` only.

It runs on 127.0.0.1 (a free port) in a background thread and answers the way the real API does:
the same JSON shape with ``usage``, and for ``stream=True`` the same server-sent events over chunked
transfer encoding, with the usage chunk (empty ``choices``) when ``stream_options.include_usage`` is
set (the shapes are those of the recorded cassettes in ``cassettes/openai``). The answer is built
from the context in the prompt; token counts are estimated from words and punctuation.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")
_FINGERPRINT = "fp_tracewire_demo"


def count_tokens(text: str) -> int:
    """Estimate tokens as words and punctuation marks (close to a BPE count for English)."""
    return len(_TOKEN.findall(text))


def compose_answer(messages: list[dict[str, Any]]) -> str:
    """Answer the last user message from the ``Context:`` lines of the prompt."""
    prompt = next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    context = [line[2:] for line in prompt.splitlines() if line.startswith("- ")]
    if not context:
        return "I could not find anything about that in the documents."
    facts = " ".join(line.split(": ", 1)[-1] for line in context[:2])
    return f"According to the documents, {facts[0].lower()}{facts[1:]}"


class _Handler(BaseHTTPRequestHandler):
    """Serves chat completions; anything else gets the API's 404 error shape."""

    protocol_version = "HTTP/1.1"
    server_version = "tracewire-demo"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._error(400, "We could not parse the JSON body of your request.")
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"Invalid URL (POST {self.path})")
            return
        messages = body.get("messages") or []
        answer = compose_answer(messages)
        usage = _usage(messages, answer)
        created = int(time.time())
        base = {
            "id": "chatcmpl-" + secrets.token_urlsafe(22)[:29],
            "created": created,
            "model": str(body.get("model", "gpt-4o-mini")),
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(base, answer, usage if include_usage else None)
            return
        payload = {
            "id": base["id"],
            "object": "chat.completion",
            "created": created,
            "model": base["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": answer,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self._common_headers("application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, base: dict[str, Any], answer: str, usage: dict[str, Any] | None) -> None:
        self.send_response(200)
        self._common_headers("text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = {**base, "object": "chat.completion.chunk"}
        head.update(service_tier="default", system_fingerprint=_FINGERPRINT)
        tail = {"usage": None} if usage is not None else {}

        def choice(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            item = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**head, "choices": [item], **tail}

        self._event(choice({"role": "assistant", "content": "", "refusal": None}, None))
        for piece in re.findall(r"\S+\s*", answer):
            self._event(choice({"content": piece}, None))
        self._event(choice({}, "stop"))
        if usage is not None:  # the extra last chunk: no choices, the whole request's usage
            self._event({**head, "choices": [], "usage": usage})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, data: dict[str, Any]) -> None:
        self._chunk(f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _common_headers(self, content_type: str) -> None:
        self.send_header("Content-Type", content_type)
        self.send_header("openai-version", "2020-10-01")
        self.send_header("openai-processing-ms", "1")
        self.send_header("x-request-id", "req_" + secrets.token_hex(16))

    def _error(self, status: int, message: str) -> None:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        data = json.dumps({"error": error}).encode()
        self.send_response(status)
        self._common_headers("application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the demo's output clean: no access log."""


def _usage(messages: list[dict[str, Any]], answer: str) -> dict[str, Any]:
    # Chat formatting costs a few tokens per message and three to prime the reply, as with OpenAI.
    prompt = 3 + sum(4 + count_tokens(str(m.get("content", ""))) for m in messages)
    completion = count_tokens(answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes its kept-alive connection (the SDK's client being closed) is
        # normal, not worth the traceback the standard server prints to stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class DemoServer:
    """The server, as a context manager: started on enter, stopped on exit.

    Example:
        >>> with DemoServer() as server:
        ...     client = openai.OpenAI(base_url=server.base_url, api_key="demo")
    """

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tracewire-demo-server",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """The API base URL to give the OpenAI client."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

"""Distributed tracing: W3C ``traceparent`` out of a client span, into a server's spans."""

from __future__ import annotations

import email.message
import json
import logging
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import tracewire
from tracewire import _errors, _trace_manager
from tracewire._destinations import MemoryDestination
from tracewire._export import set_destination
from tracewire._propagation import parse_traceparent
from tracewire.entities import SpanType, Trace
from tracewire.tracing import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)
from tracewire.tracing.constant import SpanAttributeKey

TRACE_HEX = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_HEX = "00f067aa0ba902b7"
HEADER = f"00-{TRACE_HEX}-{SPAN_HEX}-01"


class RecordingDestination(MemoryDestination):
    """Keeps every exported batch, so that two exports of one trace id can both be inspected."""

    def __init__(self) -> None:
        super().__init__()
        self.exports: list[Trace] = []

    def export(self, traces: Sequence[Trace]) -> None:
        self.exports.extend(traces)
        super().export(traces)


@pytest.fixture
def exports() -> list[Trace]:
    destination = RecordingDestination()
    set_destination(destination)
    return destination.exports


@pytest.fixture
def warnings(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    monkeypatch.setattr(_errors, "_reported", set())  # warn_once warns again in every test
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        yield caplog


def test_headers_name_the_active_span() -> None:
    with tracewire.start_span("client") as span:
        headers = get_tracing_context_headers_for_http_request()
    assert headers == {"traceparent": f"00-{span.trace_id[3:]}-{span.span_id}-01"}
    assert parse_traceparent(headers["traceparent"]) == (span.trace_id, span.span_id, True)


def test_headers_outside_any_span_are_empty_with_a_warning(
    warnings: pytest.LogCaptureFixture,
) -> None:
    assert get_tracing_context_headers_for_http_request() == {}
    assert "outside any span" in warnings.text


@pytest.mark.parametrize("off", ["disabled", "suppressed"])
def test_a_trace_not_recorded_here_is_not_recorded_by_the_receiver(
    off: str, exports: list[Trace]
) -> None:
    if off == "disabled":
        tracewire.tracing.disable()
        with tracewire.start_span("client"):
            headers = get_tracing_context_headers_for_http_request()
        tracewire.tracing.enable()
    else:
        with tracewire.start_span("client"), tracewire.tracing.suppress():
            headers = get_tracing_context_headers_for_http_request()
    assert headers["traceparent"].endswith("-00")
    tracewire.flush()
    exports.clear()
    with (
        set_tracing_context_from_http_request_headers(headers),
        tracewire.start_span("server") as span,
    ):
        pass
    tracewire.flush()
    assert span.trace_id == "MLFLOW_NO_OP_SPAN_TRACE_ID"
    assert exports == []


def test_server_spans_join_the_callers_trace_under_the_callers_span(
    exports: list[Trace],
) -> None:
    with tracewire.start_span("client") as client:
        headers = get_tracing_context_headers_for_http_request()
    with set_tracing_context_from_http_request_headers(headers):
        assert tracewire.get_current_active_span() is None  # as in MLflow: the parent is remote
        assert tracewire.get_active_trace_id() is None
        with (
            tracewire.start_span("server", span_type=SpanType.AGENT) as server,
            tracewire.start_span("llm", span_type=SpanType.CHAT_MODEL) as llm,
        ):
            llm.set_attribute(
                SpanAttributeKey.CHAT_USAGE,
                {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
            )
    assert tracewire.get_current_active_span() is None
    tracewire.flush()
    client_part, server_part = exports
    assert client_part.trace_id == server_part.trace_id == client.trace_id
    assert [(s.name, s.parent_id) for s in server_part.data.spans] == [
        ("server", client.span_id),
        ("llm", server.span_id),
    ]
    # The server's part has no root span of its own, and none is invented for it.
    assert all(s.parent_id is not None for s in server_part.data.spans)
    assert server_part.info.tags["mlflow.traceName"] == "server"
    assert server_part.info.token_usage == {
        "input_tokens": 7,
        "output_tokens": 3,
        "total_tokens": 10,
    }
    assert server_part.info.state.value == "OK"
    assert tracewire.get_last_active_trace_id() == client.trace_id
    assert Trace.from_json(server_part.to_json()).data.spans[0].parent_id == client.span_id


class _ItemsOnly:
    """A header object that is no Mapping but has ``items()``, like Werkzeug's ``EnvironHeaders``."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


def _http_message() -> email.message.Message:
    message = email.message.Message()  # what http.server's handler.headers is
    message["Content-Type"] = "application/json"
    message["TraceParent"] = HEADER
    return message


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": HEADER},
        {"Traceparent": HEADER},
        {"TRACEPARENT": HEADER, "Accept": "*/*"},
        {"traceparent": [HEADER]},
        [(b"host", b"x"), (b"traceparent", HEADER.encode())],  # ASGI raw headers
        [("Traceparent", HEADER), ("traceparent", HEADER)],  # a repeat of the same value
        _ItemsOnly([("Traceparent", HEADER)]),
        _http_message(),
        {"traceparent": f"  {HEADER} "},
        {"traceparent": f"01-{TRACE_HEX}-{SPAN_HEX}-09-future-field"},  # a later version
    ],
    ids=lambda h: type(h).__name__,
)
def test_any_header_collection_is_read_in_any_case(headers: object) -> None:
    with (
        set_tracing_context_from_http_request_headers(headers),
        tracewire.start_span("server") as span,
    ):
        pass
    assert span.trace_id == f"tr-{TRACE_HEX}"
    assert span.parent_id == SPAN_HEX


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "no 'traceparent'"),
        ({"accept": "*/*"}, "no 'traceparent'"),
        ({"traceparent": ""}, "malformed"),
        ({"traceparent": "garbage"}, "malformed"),
        ({"traceparent": f"00-{TRACE_HEX.upper()}-{SPAN_HEX}-01"}, "malformed"),
        ({"traceparent": f"00-{'0' * 32}-{SPAN_HEX}-01"}, "malformed"),
        ({"traceparent": f"00-{TRACE_HEX}-{'0' * 16}-01"}, "malformed"),
        ({"traceparent": f"ff-{TRACE_HEX}-{SPAN_HEX}-01"}, "malformed"),
        ({"traceparent": f"00-{TRACE_HEX}-{SPAN_HEX}-01-extra"}, "malformed"),
        ({"traceparent": f"00-{TRACE_HEX[:-1]}-{SPAN_HEX}-01"}, "malformed"),
        ({"traceparent": f"00-{TRACE_HEX}-{SPAN_HEX}-0x"}, "malformed"),
        ([("traceparent", HEADER), ("traceparent", HEADER.replace("01", "00"))], "malformed"),
    ],
)
def test_a_missing_or_malformed_header_starts_a_new_trace_with_a_warning(
    headers: object, message: str, warnings: pytest.LogCaptureFixture
) -> None:
    with (
        set_tracing_context_from_http_request_headers(headers),
        tracewire.start_span("server") as span,
    ):
        pass
    assert span.parent_id is None
    assert span.trace_id != f"tr-{TRACE_HEX}"
    assert message in warnings.text
    assert tracewire.get_trace(span.trace_id) is not None


def test_a_missing_header_keeps_a_local_parent_active() -> None:
    with (
        tracewire.start_span("middleware") as outer,
        set_tracing_context_from_http_request_headers({}),
        tracewire.start_span("handler") as inner,
    ):
        pass
    assert inner.parent_id == outer.span_id


@pytest.mark.parametrize("headers", [None, 42, "traceparent", [("only-one",)]])
def test_headers_that_are_no_header_collection_are_a_type_error(headers: object) -> None:
    scope = set_tracing_context_from_http_request_headers(headers)
    with pytest.raises(TypeError, match="headers must"):
        scope.__enter__()


def test_a_block_that_records_nothing_exports_nothing(exports: list[Trace]) -> None:
    with set_tracing_context_from_http_request_headers({"traceparent": HEADER}):
        pass
    tracewire.flush()
    assert exports == []
    assert _trace_manager.in_progress_count() == 0


def test_concurrent_requests_of_one_trace_are_exported_as_one_part(exports: list[Trace]) -> None:
    barrier = threading.Barrier(3)

    def handle(name: str) -> None:
        with (
            set_tracing_context_from_http_request_headers({"traceparent": HEADER}),
            tracewire.start_span(name),
        ):
            barrier.wait(5)  # both handlers are inside their spans at once
        barrier.wait(5)

    threads = [threading.Thread(target=handle, args=(f"h{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait(5)
    barrier.wait(5)
    for thread in threads:
        thread.join(5)
    tracewire.flush()
    (part,) = exports
    assert sorted(s.name for s in part.data.spans) == ["h0", "h1"]


def test_sequential_requests_of_one_trace_are_exported_as_separate_parts(
    exports: list[Trace],
) -> None:
    for name in ("first", "second"):
        with (
            set_tracing_context_from_http_request_headers({"traceparent": HEADER}),
            tracewire.start_span(name),
        ):
            pass
    tracewire.flush()
    assert [[s.name for s in t.data.spans] for t in exports] == [["first"], ["second"]]
    assert {t.trace_id for t in exports} == {f"tr-{TRACE_HEX}"}


def test_a_span_still_running_when_the_block_exits_is_waited_for(exports: list[Trace]) -> None:
    """A streamed response ends its span after the handler returned."""
    with set_tracing_context_from_http_request_headers({"traceparent": HEADER}):
        stream_span = tracewire.start_span_no_context("stream")
        child = tracewire.start_span_no_context("chunk", parent_span=stream_span)
        child.end()
    tracewire.flush()
    assert exports == []
    stream_span.end()
    tracewire.flush()
    (part,) = exports
    assert [s.name for s in part.data.spans] == ["stream", "chunk"]


def test_a_span_ending_after_the_part_was_exported_is_reported_late(
    exports: list[Trace], warnings: pytest.LogCaptureFixture
) -> None:
    with (
        set_tracing_context_from_http_request_headers({"traceparent": HEADER}),
        tracewire.start_span("handler") as handler,
    ):
        straggler = tracewire.start_span_no_context("background", parent_span=handler)
    straggler.end()
    tracewire.flush()
    (part,) = exports
    assert [s.name for s in part.data.spans] == ["handler"]
    assert "ended after its trace" in warnings.text


def test_a_call_into_the_same_process_joins_the_open_trace(exports: list[Trace]) -> None:
    """A client calling its own process: one trace, exported once, when the client's root ends."""
    server_span = []

    def handle(headers: dict[str, str]) -> None:
        with (
            set_tracing_context_from_http_request_headers(headers),
            tracewire.start_span("server") as span,
        ):
            server_span.append(span)

    with tracewire.start_span("client") as client:
        thread = threading.Thread(
            target=handle, args=(get_tracing_context_headers_for_http_request(),)
        )
        thread.start()
        thread.join(5)
    tracewire.flush()
    (trace,) = exports
    assert [(s.name, s.parent_id) for s in trace.data.spans] == [
        ("client", None),
        ("server", client.span_id),
    ]


def test_headers_inside_the_server_carry_the_trace_on(exports: list[Trace]) -> None:
    with set_tracing_context_from_http_request_headers({"traceparent": HEADER}):
        assert get_tracing_context_headers_for_http_request() == {"traceparent": HEADER}
        with tracewire.start_span("server") as server:
            onward = get_tracing_context_headers_for_http_request()
    assert onward == {"traceparent": f"00-{TRACE_HEX}-{server.span_id}-01"}


def test_a_part_still_open_at_exit_is_exported_as_error(
    exports: list[Trace], warnings: pytest.LogCaptureFixture
) -> None:
    with set_tracing_context_from_http_request_headers({"traceparent": HEADER}):
        span = tracewire.start_span_no_context("never-ended")
        _trace_manager.evict_all_in_progress()
    tracewire.flush()
    (part,) = exports
    assert part.info.state.value == "ERROR"
    assert [(s.name, s.parent_id) for s in part.data.spans] == [("never-ended", SPAN_HEX)]
    assert "never finished" in warnings.text
    span.end()  # late: reported, not exported again
    assert "ended after its trace" in warnings.text


# A real server process: http.server, its handler traced with @tracewire.trace inside the caller's
# trace context. Each request's part of the trace is dumped to <out>/<trace id>.json before the
# response is sent, so the client can read it as soon as it has the response.
SERVER_SCRIPT = """
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import tracewire
from tracewire.entities import SpanType
from tracewire.tracing import set_tracing_context_from_http_request_headers

OUT = Path(sys.argv[1])


@tracewire.trace(span_type=SpanType.RETRIEVER)
def retrieve(question):
    return [word for word in question.split() if len(word) > 3]


@tracewire.trace(span_type=SpanType.AGENT)
def answer(question):
    span = tracewire.get_current_active_span()
    return {"words": retrieve(question), "trace_id": span.trace_id, "span_id": span.span_id}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with set_tracing_context_from_http_request_headers(self.headers):
            result = answer(body["question"])
        trace = tracewire.get_trace(result["trace_id"])  # flushes this process's export first
        (OUT / (result["trace_id"] + ".json")).write_text(trace.to_json())
        payload = json.dumps(result).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

CLIENT_SCRIPT = """
import json
import sys
import urllib.request

import tracewire
from tracewire.tracing import get_tracing_context_headers_for_http_request

with tracewire.start_span("client") as span:
    request = urllib.request.Request(
        sys.argv[1],
        data=json.dumps({"question": "where do traces go"}).encode(),
        headers={"Content-Type": "application/json", **get_tracing_context_headers_for_http_request()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = json.load(response)
print(json.dumps({"trace_id": span.trace_id, "span_id": span.span_id, "reply": reply}))
"""


@pytest.fixture
def server(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """Start the traced server in its own process; yield its URL, its dump folder and its env."""
    extra_env = {
        key: value.format(db=tmp_path / "t.db")
        for key, value in getattr(request, "param", {}).items()
    }
    if "TRACEWIRE_TRACKING_URI" in extra_env:  # the store merging both processes' parts
        pytest.importorskip("tracewire._sqlite_store")
    out = tmp_path / "server-traces"
    out.mkdir()
    script = tmp_path / "server.py"
    script.write_text(SERVER_SCRIPT)
    env = {**os.environ, "TRACEWIRE_STRICT": "1", **extra_env}
    process = subprocess.Popen(
        [sys.executable, str(script), str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}/answer", out, env
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def test_two_processes_over_http_produce_one_trace(
    server: tuple[str, Path, dict[str, str]],
) -> None:
    url, out, _ = server
    with tracewire.start_span("client", span_type=SpanType.CHAIN) as client:
        request = urllib.request.Request(
            url,
            data=json.dumps({"question": "where do traces go"}).encode(),
            headers={
                "Content-Type": "application/json",
                **get_tracing_context_headers_for_http_request(),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.load(response)
    assert reply["trace_id"] == client.trace_id

    client_part = tracewire.get_trace(client.trace_id)
    assert client_part is not None
    server_part = Trace.from_json((out / f"{client.trace_id}.json").read_text())
    assert server_part.trace_id == client_part.trace_id == client.trace_id
    assert [(s.name, s.parent_id) for s in client_part.data.spans] == [("client", None)]
    assert [(s.name, s.span_type, s.parent_id) for s in server_part.data.spans] == [
        ("answer", "AGENT", client.span_id),
        ("retrieve", "RETRIEVER", reply["span_id"]),
    ]
    assert server_part.data.spans[1].outputs == ["where", "traces"]


@pytest.mark.parametrize("server", [{"TRACEWIRE_TRACKING_URI": "sqlite:///{db}"}], indirect=True)
def test_two_processes_write_one_trace_to_one_store(
    server: tuple[str, Path, dict[str, str]], tmp_path: Path
) -> None:
    """Both processes export to one SQLite file, which merges their parts into one trace."""
    url, _, env = server
    client = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, url],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert client.returncode == 0, client.stderr
    ids = json.loads(client.stdout)
    exported = subprocess.run(
        [sys.executable, "-m", "tracewire", "traces", "export", ids["trace_id"]],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    trace = Trace.from_json(exported.stdout)
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"client", "answer", "retrieve"}
    assert spans["client"].parent_id is None
    assert spans["answer"].parent_id == ids["span_id"]
    assert spans["retrieve"].parent_id == spans["answer"].span_id
    assert trace.info.tags["mlflow.traceName"] == "client"  # the root's process names the trace


def test_a_bug_while_joining_the_remote_trace_never_fails_the_request(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside strict mode the handler's block runs, untraced, and the error is logged once."""
    from tracewire import _propagation

    def broken(trace_id: str, parent_span_id: str) -> object:
        raise RuntimeError("bug in _join")

    monkeypatch.setattr(_propagation, "_join", broken)
    monkeypatch.setattr(_errors, "_reported", set())
    monkeypatch.setenv("TRACEWIRE_STRICT", "0")
    headers = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    with (
        caplog.at_level(logging.WARNING, logger="tracewire"),
        set_tracing_context_from_http_request_headers(headers),
    ):
        handled = "handled"
    assert handled == "handled"
    assert "continuing a trace from a request's headers" in caplog.text

    monkeypatch.setenv("TRACEWIRE_STRICT", "1")
    with (
        pytest.raises(RuntimeError, match="bug in _join"),
        set_tracing_context_from_http_request_headers(headers),
    ):
        pass

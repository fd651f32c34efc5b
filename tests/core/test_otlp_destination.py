"""OtlpDestination against a real OTLP/HTTP receiver on 127.0.0.1 that decodes with opentelemetry-proto.

Covers configuration from the ``OTEL_EXPORTER_OTLP_*`` variables, what arrives on the wire (headers,
protobuf, gzip, the three key dialects), and a backend that is down, slow, failing then recovering,
or refusing: retried, delivered or dropped and counted, one warning, and the traced program's own
calls never slowed down. Needs the ``otlp`` extra.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip(
    "opentelemetry.proto", reason="needs the otlp extra: pip install tracewire[otlp]"
)

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

import tracewire
from tracewire._export import EXPORTER, set_destination
from tracewire._http_export import RetryPolicy
from tracewire._otlp_destination import (
    OtlpDestination,
    otlp_destination_from_environment,
)
from tracewire.entities import SpanType

FAST_RETRIES = RetryPolicy(retries=3, backoff=0.05, max_time=5.0, timeout=2.0)
# What one traced call may cost the caller, with the export thread busy retrying: a generous bound
# (a trace normally takes microseconds), checking the caller never waits on the network.
CALLER_BOUND_S = 0.25


class Receiver:
    """An OTLP/HTTP endpoint in a thread: request n (from 1) is answered by ``respond(n)``.

    Header names are kept lower-cased.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        self.attempts = 0
        self.respond: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
        self.delay_s: Callable[[int], float] = lambda n: 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.attempts += 1
                    attempt = receiver.attempts
                time.sleep(receiver.delay_s(attempt))
                status, headers = receiver.respond(attempt)
                if status == 200:
                    if self.headers.get("Content-Encoding") == "gzip":
                        body = gzip.decompress(body)
                    request = ExportTraceServiceRequest.FromString(body)
                    with lock:
                        receiver.requests.append(
                            ({k.lower(): v for k, v in self.headers.items()}, request)
                        )
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting (slow backend test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def spans(self) -> dict[str, dict[str, Any]]:
        """Every received span's attributes, by span name."""
        result = {}
        for _, request in self.requests:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        result[span.name] = {
                            item.key: _any_value(item.value) for item in span.attributes
                        }
        return result

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def use() -> Iterator[Callable[[OtlpDestination], OtlpDestination]]:
    """Install a destination for one test; the shared teardown puts a memory destination back."""

    def install(destination: OtlpDestination) -> OtlpDestination:
        set_destination(destination)
        return destination

    yield install
    set_destination(tracewire._export.MemoryDestination())


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/traces"


def traced_call(index: int = 0) -> float:
    """One traced program step (a chain around an LLM call); returns what it cost the caller."""
    started = time.perf_counter()
    with tracewire.start_span(f"agent-{index}", span_type=SpanType.AGENT) as root:
        root.set_inputs({"question": "What is 2+2?"})
        with tracewire.start_span("chat", span_type=SpanType.CHAT_MODEL) as chat:
            chat.set_inputs(
                {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "2+2"}]}
            )
            chat.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 12, "output_tokens": 3})
            chat.set_attribute("mlflow.llm.provider", "openai")
            chat.set_outputs({"choices": [{"message": {"role": "assistant", "content": "4"}}]})
        root.set_outputs("4")
    return time.perf_counter() - started


def drop_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "could not deliver" in r.getMessage()
    ]


def test_receiver_decodes_all_three_dialects(receiver: Receiver, use: Any) -> None:
    destination = use(
        OtlpDestination(receiver.url, {"x-project-name": "demo"}, policy=FAST_RETRIES)
    )
    traced_call()
    assert tracewire.flush(10)

    ((headers, _),) = receiver.requests
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-project-name"] == "demo"
    chat, root = receiver.spans()["chat"], receiver.spans()["agent-0"]
    assert chat["mlflow.spanType"] == "CHAT_MODEL"
    assert json.loads(chat["mlflow.chat.tokenUsage"])["total_tokens"] == 15
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.usage.input_tokens"] == 12
    assert chat["gen_ai.provider.name"] == "openai"
    assert chat["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat["openinference.span.kind"] == "LLM"
    assert chat["llm.token_count.total"] == 15
    assert chat["llm.input_messages.0.message.content"] == "2+2"
    assert root["openinference.span.kind"] == "AGENT"
    assert root["mlflow.traceTag.mlflow.traceName"] == "agent-0"
    assert root["output.value"] == "4"
    assert destination.exported_traces == 1
    assert EXPORTER.dropped == 0


def test_configured_by_the_standard_variables(
    receiver: Receiver, use: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = receiver.url.removesuffix("/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base + "/")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc,x-team=a")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-team=b")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")  # milliseconds, as the spec says
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")

    destination = otlp_destination_from_environment()
    assert isinstance(destination, OtlpDestination)
    assert destination.endpoint == receiver.url
    assert destination._sender.policy.timeout == 2.5
    use(destination)
    traced_call()
    assert tracewire.flush(10)

    ((headers, request),) = receiver.requests
    assert headers["authorization"] == "Bearer abc"
    assert headers["x-team"] == "b"
    assert headers["content-encoding"] == "gzip"
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "checkout"


def test_traces_endpoint_variable_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:2/custom/path")
    destination = otlp_destination_from_environment()

    assert isinstance(destination, OtlpDestination)
    assert destination.endpoint == "http://127.0.0.1:2/custom/path"


def test_no_endpoint_variable_means_no_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)

    assert otlp_destination_from_environment() is None


def test_grpc_or_invalid_settings_turn_export_off_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert otlp_destination_from_environment() is None
    assert "grpc is not supported" in caplog.text

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")  # no scheme
    assert otlp_destination_from_environment() is None
    assert "must be an http:// or https:// URL" in caplog.text


def test_500_then_200_is_retried_and_delivered(
    receiver: Receiver, use: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.respond = lambda n: (500, {}) if n <= 2 else (200, {})
    destination = use(OtlpDestination(receiver.url, policy=FAST_RETRIES))

    assert traced_call() < CALLER_BOUND_S
    assert tracewire.flush(10)

    assert receiver.attempts == 3
    assert len(receiver.requests) == 1
    assert destination.exported_traces == 1
    assert destination.dropped_traces == EXPORTER.dropped == 0
    assert not drop_warnings(caplog)


def test_429_waits_as_long_as_retry_after_says(receiver: Receiver, use: Any) -> None:
    receiver.respond = lambda n: (429, {"Retry-After": "1"}) if n == 1 else (200, {})
    use(OtlpDestination(receiver.url, policy=FAST_RETRIES))

    started = time.monotonic()
    traced_call()
    assert tracewire.flush(10)

    assert receiver.attempts == 2
    assert time.monotonic() - started >= 0.9  # Retry-After, not the 0.05 s backoff
    assert len(receiver.requests) == 1


def test_backend_down_drops_and_counts_with_one_warning(
    use: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = closed_port_url()
    destination = use(OtlpDestination(url, policy=FAST_RETRIES))

    costs = []
    for index in range(3):
        costs.append(traced_call(index))  # while the export thread retries the previous one
        time.sleep(0.05)
    started = time.monotonic()
    assert tracewire.flush(30)

    assert max(costs) < CALLER_BOUND_S
    assert destination.dropped_traces == EXPORTER.dropped == 3
    assert destination.exported_traces == 0
    (warning,) = drop_warnings(caplog)
    assert url in warning.getMessage()
    assert "4 attempts" in warning.getMessage()  # the first one and 3 retries
    # 3 retries of 0.05, 0.1, 0.2 s (±25 %) per batch: bounded, not the 15 s retry time limit.
    assert time.monotonic() - started < 5


def test_slow_backend_times_out_and_is_retried_without_slowing_the_caller(
    receiver: Receiver, use: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.delay_s = lambda n: 1.0 if n == 1 else 0.0  # the first answer comes too late
    destination = use(
        OtlpDestination(receiver.url, policy=RetryPolicy(3, backoff=0.05, max_time=5, timeout=0.3))
    )

    first = traced_call(0)
    time.sleep(0.1)  # the export thread is now stuck waiting for the slow answer
    during = [traced_call(index) for index in range(1, 20)]
    assert tracewire.flush(15)

    assert max(first, *during) < CALLER_BOUND_S
    assert destination.dropped_traces == 0
    assert destination.exported_traces == 20
    assert set(receiver.spans()) >= {f"agent-{index}" for index in range(20)}
    assert not drop_warnings(caplog)


def test_slow_backend_does_not_hold_flush_past_its_timeout(receiver: Receiver, use: Any) -> None:
    receiver.delay_s = lambda n: 2.0
    use(OtlpDestination(receiver.url, policy=RetryPolicy(0, backoff=0.05, max_time=1, timeout=3)))

    traced_call()
    started = time.monotonic()
    assert tracewire.flush(0.3) is False
    assert time.monotonic() - started < 1.0
    assert tracewire.flush(10)  # the request completes; nothing is lost
    assert len(receiver.requests) == 1


def test_a_refusal_is_not_retried(
    receiver: Receiver, use: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.respond = lambda n: (400, {})
    destination = use(OtlpDestination(receiver.url, policy=FAST_RETRIES))

    for _ in range(2):  # two batches
        traced_call()
        assert tracewire.flush(10)

    assert receiver.attempts == 2  # one per batch, no retries
    assert destination.dropped_traces == EXPORTER.dropped == 2
    (warning,) = drop_warnings(caplog)
    assert "HTTP 400" in warning.getMessage()


def test_after_shutdown_a_failure_is_final_at_once(use: Any) -> None:
    destination = use(
        OtlpDestination(closed_port_url(), policy=RetryPolicy(5, backoff=5, max_time=60))
    )
    destination.shutdown()  # what exit and replacing the destination do

    traced_call()
    started = time.monotonic()
    assert tracewire.flush(10)

    assert time.monotonic() - started < 2  # no 5 s backoff
    assert destination.dropped_traces == 1


def test_reads_return_nothing_with_one_warning(
    receiver: Receiver, use: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use(OtlpDestination(receiver.url, policy=FAST_RETRIES))
    traced_call()

    assert tracewire.get_trace(tracewire.get_last_active_trace_id() or "") is None
    assert tracewire.search_traces(return_type="list") == []
    messages = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(messages) == 1
    assert receiver.url in messages[0]


def test_constructor_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="http"):
        OtlpDestination("ftp://example/v1/traces")
    with pytest.raises(ValueError, match="gzip"):
        OtlpDestination("http://127.0.0.1:1/v1/traces", compression="zstd")


def test_exit_gives_each_queued_batch_one_attempt_and_reports_the_drop(tmp_path: Any) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        "import tracewire\n"
        "from tracewire._export import set_destination\n"
        "from tracewire._otlp_destination import otlp_destination_from_environment\n"
        "set_destination(otlp_destination_from_environment())\n"
        "with tracewire.start_span('work') as span:\n"
        "    span.set_inputs({'n': 1})\n"
        "print('done', flush=True)\n"  # exits without flush(): the exit flush must cope
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": closed_port_url(),
        "TRACEWIRE_EXPORT_BACKOFF": "30",  # a retry would outlast the 5 s exit flush
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert time.monotonic() - started < 5  # interpreter start included
    assert result.stderr.count("could not deliver 1 traces") == 1
    assert "after 1 attempts" in result.stderr


def test_a_global_opentelemetry_provider_neither_needed_nor_duplicating(
    receiver: Receiver, use: Any
) -> None:
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="needs opentelemetry-sdk")
    from opentelemetry import trace as otel_trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # An application (or an SDK such as anthropic 2.x) with its own global provider and spans.
    sdk_spans = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(sdk_spans))
    otel_trace.set_tracer_provider(provider)
    use(OtlpDestination(receiver.url, policy=FAST_RETRIES))

    with otel_trace.get_tracer("app").start_as_current_span("sdk http call"):
        traced_call()
    assert tracewire.flush(10)
    provider.shutdown()

    received = [
        span.name
        for _, request in receiver.requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    assert sorted(received) == ["agent-0", "chat"]  # ours, each once; not the SDK's span
    assert [span.name for span in sdk_spans.get_finished_spans()] == ["sdk http call"]

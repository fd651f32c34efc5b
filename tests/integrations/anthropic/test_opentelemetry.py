"""anthropic 2.x's own OpenTelemetry spans never duplicate tracewire's span or its token usage.

With a global tracer provider set, tracewire still records one span per call with the same usage,
and the SDK's span stays in the user's OpenTelemetry pipeline.

Each test runs in a fresh interpreter: OpenTelemetry allows one global tracer provider per process.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk (nox -s anthropic)")

SDK_MAJOR = int(importlib.metadata.version("anthropic").split(".")[0])
PROGRAM = """
import json, vcr
from opentelemetry import trace as otel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
otel.set_tracer_provider(provider)

import anthropic, tracewire
tracewire.anthropic.autolog()
client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
with vcr.use_cassette({cassette!r}, record_mode="none"):
    {call}
tracewire.flush()
trace = tracewire.get_trace(tracewire.get_last_active_trace_id())
print(json.dumps({{
    "spans": [span.name for span in trace.data.spans],
    "usage": trace.data.spans[0].attributes.get("mlflow.chat.tokenUsage"),
    "trace_usage": trace.info.token_usage,
    "otel": [span.name for span in exporter.get_finished_spans()],
}}))
"""
CREATE = (
    'client.messages.create(model="claude-opus-4-7", max_tokens=64, system="You are terse.", '
    'messages=[{"role": "user", "content": "Say hello."}]STREAM)'
)


def run(site_packages: Any, cassette_dir: str, cassette: str, call: str) -> dict[str, Any]:
    code = PROGRAM.format(cassette=str(Path(cassette_dir) / cassette), call=call)
    result: dict[str, Any] = json.loads(site_packages.run_python(code))
    return result


def test_one_tracewire_span_with_usage_counted_once_beside_the_sdks_own_span(
    site_packages: Any, vcr_cassette_dir: str
) -> None:
    result = run(
        site_packages, vcr_cassette_dir, "messages_create.yaml", CREATE.replace("STREAM", "")
    )

    assert result["spans"] == ["anthropic.messages.create"]
    assert result["usage"]["total_tokens"] == 19
    assert result["trace_usage"]["total_tokens"] == 19
    # The provider was live: anthropic 2.x reported its own span to it (1.x emits none).
    assert result["otel"] == (["anthropic.messages.create"] if SDK_MAJOR >= 2 else [])


def test_stream_with_a_provider_set_is_still_one_span_with_stream_usage(
    site_packages: Any, vcr_cassette_dir: str
) -> None:
    call = "list(" + CREATE.replace("STREAM", ", stream=True") + ")"
    result = run(site_packages, vcr_cassette_dir, "messages_stream.yaml", call)

    assert result["spans"] == ["anthropic.messages.create"]
    assert result["usage"]["output_tokens"] == 5  # not 5 + 1, nor counted again via OpenTelemetry
    assert result["trace_usage"]["total_tokens"] == 19

"""Traces to OTLP protobuf, decoded as a receiver would see them.

Checks the MLflow, OTel GenAI and OpenInference keys of each span kind, ids, parent ids, times,
status, events, the trace-level keys on the root span and the resource.

Needs the ``otlp`` extra (``opentelemetry-proto``); ``nox -s tests`` installs it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip(
    "opentelemetry.proto", reason="needs the otlp extra: pip install tracewire[otlp]"
)

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

import tracewire
from tracewire import _otlp
from tracewire.entities import Document, SpanType
from tracewire.tracing.constant import SpanAttributeKey

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
]
CHAT_RESPONSE = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "4",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "add", "arguments": "{}"},
                    }
                ],
            },
            "finish_reason": "stop",
        }
    ],
}


def any_value(value: Any) -> Any:
    """Decode an OTLP AnyValue message to Python."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def attributes_of(span: Any) -> dict[str, Any]:
    return {item.key: any_value(item.value) for item in span.attributes}


def export(traces: list[tracewire.Trace]) -> ExportTraceServiceRequest:
    """Convert and round-trip through the wire format, as a receiver would see it."""
    request = _otlp.to_request(traces, _otlp.resource_attributes())
    return ExportTraceServiceRequest.FromString(request.SerializeToString())


def spans_of(request: ExportTraceServiceRequest) -> dict[str, Any]:
    (resource_spans,) = request.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "tracewire"
    return {span.name: span for span in scope_spans.spans}


def finished(trace_id: str | None = None) -> tracewire.Trace:
    trace = tracewire.get_trace(trace_id or tracewire.get_last_active_trace_id() or "")
    assert trace is not None
    return trace


def chat_trace() -> tracewire.Trace:
    with tracewire.start_span("agent", span_type=SpanType.AGENT) as root:
        root.set_inputs({"question": "What is 2+2?"})
        with tracewire.start_span("chat gpt-4o-mini", span_type=SpanType.CHAT_MODEL) as chat:
            chat.set_inputs({"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2})
            chat.set_attributes(
                {
                    SpanAttributeKey.MODEL_PROVIDER: "openai",
                    SpanAttributeKey.MODEL: "gpt-4o-mini-2024-07-18",
                    SpanAttributeKey.CHAT_USAGE: {
                        "input_tokens": 12,
                        "output_tokens": 3,
                        "total_tokens": 15,
                        "cache_read_input_tokens": 4,
                    },
                    "temperature": 0.2,
                }
            )
            chat.set_outputs(CHAT_RESPONSE)
        root.set_outputs("4")
        tracewire.update_current_trace(
            tags={"env": "staging"},
            metadata={"app.version": "1.2.3"},
            session_id="sess-1",
            user="alice",
        )
    return finished()


def test_chat_model_span_carries_all_three_dialects() -> None:
    chat = attributes_of(spans_of(export([chat_trace()]))["chat gpt-4o-mini"])

    # MLflow: plain span type, JSON inputs/outputs/usage.
    assert chat[SpanAttributeKey.SPAN_TYPE] == "CHAT_MODEL"
    assert json.loads(chat[SpanAttributeKey.INPUTS])["messages"] == MESSAGES
    assert json.loads(chat[SpanAttributeKey.OUTPUTS]) == CHAT_RESPONSE
    assert json.loads(chat[SpanAttributeKey.CHAT_USAGE]) == {
        "input_tokens": 12,
        "output_tokens": 3,
        "total_tokens": 15,
        "cache_read_input_tokens": 4,
    }
    assert chat[SpanAttributeKey.MODEL] == "gpt-4o-mini-2024-07-18"
    assert chat[SpanAttributeKey.MODEL_PROVIDER] == "openai"
    assert chat[SpanAttributeKey.REQUEST_ID].startswith("tr-")
    assert chat["temperature"] == 0.2
    # OTel GenAI semantic conventions.
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert chat["gen_ai.provider.name"] == chat["gen_ai.system"] == "openai"
    assert chat["gen_ai.usage.input_tokens"] == 12
    assert chat["gen_ai.usage.output_tokens"] == 3
    assert chat["gen_ai.usage.cache_read.input_tokens"] == 4
    assert chat["gen_ai.response.id"] == "chatcmpl-1"
    assert chat["gen_ai.response.finish_reasons"] == ["stop"]
    # OpenInference.
    assert chat["openinference.span.kind"] == "LLM"
    assert json.loads(chat["input.value"])["model"] == "gpt-4o-mini"
    assert chat["input.mime_type"] == chat["output.mime_type"] == "application/json"
    assert json.loads(chat["output.value"]) == CHAT_RESPONSE
    assert chat["llm.token_count.prompt"] == 12
    assert chat["llm.token_count.completion"] == 3
    assert chat["llm.token_count.total"] == 15
    assert chat["llm.token_count.prompt_details.cache_read"] == 4
    assert chat["llm.model_name"] == "gpt-4o-mini-2024-07-18"
    assert chat["llm.provider"] == "openai"
    assert json.loads(chat["llm.invocation_parameters"]) == {"temperature": 0.2}
    assert chat["llm.input_messages.0.message.role"] == "system"
    assert chat["llm.input_messages.1.message.content"] == "What is 2+2?"
    assert chat["llm.output_messages.0.message.role"] == "assistant"
    assert chat["llm.output_messages.0.message.content"] == "4"
    prefix = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert chat[f"{prefix}.function.name"] == "add"
    assert chat[f"{prefix}.id"] == "call_1"


@pytest.mark.parametrize(
    ("span_type", "openinference_kind", "operation"),
    [
        (SpanType.CHAT_MODEL, "LLM", "chat"),
        (SpanType.LLM, "LLM", "text_completion"),
        (SpanType.EMBEDDING, "EMBEDDING", "embeddings"),
        (SpanType.RETRIEVER, "RETRIEVER", "retrieval"),
        (SpanType.AGENT, "AGENT", "invoke_agent"),
        (SpanType.TOOL, "TOOL", "execute_tool"),
        (SpanType.WORKFLOW, "CHAIN", "invoke_workflow"),
        (SpanType.CHAIN, "CHAIN", None),
        (SpanType.PARSER, "CHAIN", None),
        (SpanType.MEMORY, "CHAIN", None),
        (SpanType.TASK, "CHAIN", None),
        (SpanType.RERANKER, "RERANKER", None),
        (SpanType.GUARDRAIL, "GUARDRAIL", None),
        (SpanType.EVALUATOR, "EVALUATOR", None),
        (SpanType.UNKNOWN, "UNKNOWN", None),
        ("MY_CUSTOM_TYPE", "UNKNOWN", None),
    ],
)
def test_each_span_type_maps_to_its_kind_in_every_dialect(
    span_type: str, openinference_kind: str, operation: str | None
) -> None:
    with tracewire.start_span("step", span_type=span_type) as span:
        span.set_inputs({"query": "q"})
        span.set_outputs({"result": 1})
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, {"input_tokens": 5, "output_tokens": 2})
    attributes = attributes_of(spans_of(export([finished()]))["step"])

    assert attributes[SpanAttributeKey.SPAN_TYPE] == span_type  # a plain string, never JSON-quoted
    assert attributes["openinference.span.kind"] == openinference_kind
    assert attributes.get("gen_ai.operation.name") == operation
    assert json.loads(attributes[SpanAttributeKey.INPUTS]) == {"query": "q"}
    assert attributes["input.value"] == '{"query": "q"}'
    assert attributes["output.mime_type"] == "application/json"
    # Usage is in all three dialects whatever the kind; a missing total is filled in.
    assert json.loads(attributes[SpanAttributeKey.CHAT_USAGE])["total_tokens"] == 7
    assert attributes["gen_ai.usage.input_tokens"] == 5
    assert attributes["llm.token_count.total"] == 7
    if span_type == SpanType.TOOL:
        assert attributes["gen_ai.tool.name"] == "step"


def test_string_io_is_json_for_mlflow_and_plain_text_for_openinference() -> None:
    with tracewire.start_span("echo", span_type=SpanType.CHAIN) as span:
        span.set_inputs("[1, 2]")  # a string that looks like JSON must stay a string in MLflow
        span.set_outputs(None)
    attributes = attributes_of(spans_of(export([finished()]))["echo"])

    assert attributes[SpanAttributeKey.INPUTS] == '"[1, 2]"'
    assert attributes["input.value"] == "[1, 2]"
    assert attributes["input.mime_type"] == "text/plain"
    # None outputs are left out: MLflow would read them back as the string 'null'.
    assert SpanAttributeKey.OUTPUTS not in attributes
    assert "output.value" not in attributes


def test_usage_is_only_where_the_span_recorded_it() -> None:
    attributes = attributes_of(spans_of(export([chat_trace()]))["agent"])

    assert SpanAttributeKey.CHAT_USAGE not in attributes
    assert not [key for key in attributes if "token" in key]


def test_attribute_values_become_otel_types_and_complex_ones_json_text() -> None:
    with tracewire.start_span("values") as span:
        span.set_attributes(
            {
                "an.int": 3,
                "a.float": 0.5,
                "a.bool": True,
                "a.str": "hello",
                "strings": ["a", "b"],
                "mixed": [1, "a"],
                "a.dict": {"k": [1, 2]},
                "huge": 2**70,
                "none": None,
            }
        )
    attributes = attributes_of(spans_of(export([finished()]))["values"])

    assert attributes["an.int"] == 3
    assert attributes["a.float"] == 0.5
    assert attributes["a.bool"] is True
    assert attributes["a.str"] == "hello"
    assert attributes["strings"] == ["a", "b"]
    assert json.loads(attributes["mixed"]) == [1, "a"]
    assert json.loads(attributes["a.dict"]) == {"k": [1, 2]}
    assert attributes["huge"] == str(2**70)
    assert "none" not in attributes


def test_ids_parents_times_and_ok_status() -> None:
    trace = chat_trace()
    spans = spans_of(export([trace]))
    root, chat = spans["agent"], spans["chat gpt-4o-mini"]
    ours = {span.name: span for span in trace.data.spans}

    assert root.trace_id == chat.trace_id == bytes.fromhex(trace.trace_id.removeprefix("tr-"))
    assert root.span_id.hex() == ours["agent"].span_id
    assert root.parent_span_id == b""
    assert chat.parent_span_id == root.span_id
    assert chat.span_id.hex() == ours["chat gpt-4o-mini"].span_id
    for name, span in spans.items():
        assert span.start_time_unix_nano == ours[name].start_time_ns
        assert span.end_time_unix_nano == ours[name].end_time_ns
        assert span.status.code == Status.STATUS_CODE_OK
        assert span.kind == OtlpSpan.SPAN_KIND_INTERNAL


def test_error_span_has_error_status_and_exception_event() -> None:
    with pytest.raises(ValueError, match="boom"), tracewire.start_span("tool", span_type="TOOL"):
        raise ValueError("boom")
    trace = finished()
    (span,) = spans_of(export([trace])).values()

    assert span.status.code == Status.STATUS_CODE_ERROR
    assert span.status.message == "ValueError: boom"
    (event,) = span.events
    assert event.name == "exception"
    assert event.time_unix_nano == trace.data.spans[0].events[0].timestamp
    event_attributes = attributes_of(event)
    assert event_attributes["exception.type"] == "ValueError"
    assert event_attributes["exception.message"] == "boom"
    assert "Traceback" in event_attributes["exception.stacktrace"]


def test_event_attributes_keep_primitives_and_encode_the_rest() -> None:
    with tracewire.start_span("events") as span:
        span.add_event(tracewire.SpanEvent("step", attributes={"n": 2, "tags": ["a"]}))
        span.add_event(tracewire.SpanEvent("odd", attributes={"obj": {"x": 1}}))  # type: ignore[dict-item]
    (otlp_span,) = spans_of(export([finished()])).values()

    assert [event.name for event in otlp_span.events] == ["step", "odd"]
    assert attributes_of(otlp_span.events[0]) == {"n": 2, "tags": ["a"]}
    assert json.loads(attributes_of(otlp_span.events[1])["obj"]) == {"x": 1}


def test_trace_tags_session_user_and_metadata_go_on_the_root_only() -> None:
    spans = spans_of(export([chat_trace()]))
    root, chat = attributes_of(spans["agent"]), attributes_of(spans["chat gpt-4o-mini"])

    assert root["mlflow.traceTag.env"] == "staging"
    assert root["mlflow.traceTag.mlflow.traceName"] == "agent"
    assert root["session.id"] == root["gen_ai.conversation.id"] == "sess-1"
    assert root["user.id"] == "alice"
    assert json.loads(root["metadata"]) == {"app.version": "1.2.3"}  # OpenInference metadata
    assert root["tag.tags"] == ["env=staging"]
    assert root["output.value"] == "4"
    assert not [key for key in chat if key.startswith("mlflow.traceTag.")]
    assert "session.id" not in chat


def test_retriever_documents_are_openinference_documents() -> None:
    with tracewire.start_span("retrieve", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": "spans"})
        span.set_outputs(
            [
                Document(page_content="Spans have parents", metadata={"score": 0.5}, id="d1"),
                Document(page_content="Traces have spans"),
            ]
        )
    attributes = attributes_of(spans_of(export([finished()]))["retrieve"])

    assert attributes["retrieval.documents.0.document.content"] == "Spans have parents"
    assert attributes["retrieval.documents.0.document.id"] == "d1"
    assert attributes["retrieval.documents.0.document.score"] == 0.5
    assert json.loads(attributes["retrieval.documents.0.document.metadata"]) == {"score": 0.5}
    assert attributes["retrieval.documents.1.document.content"] == "Traces have spans"
    assert json.loads(attributes[SpanAttributeKey.OUTPUTS])[0]["page_content"] == (
        "Spans have parents"
    )


def test_anthropic_shaped_call_gives_messages_and_finish_reason() -> None:
    with tracewire.start_span("anthropic.messages.create", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs(
            {
                "model": "claude-sonnet-4-5",
                "system": "Be brief.",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                "max_tokens": 50,
            }
        )
        span.set_outputs(
            {
                "id": "msg_1",
                "model": "claude-sonnet-4-5-20250929",
                "role": "assistant",
                "content": [{"type": "text", "text": "Hello"}],
                "stop_reason": "end_turn",
            }
        )
    attributes = attributes_of(spans_of(export([finished()]))["anthropic.messages.create"])

    assert attributes["llm.input_messages.0.message.role"] == "system"
    assert attributes["llm.input_messages.0.message.content"] == "Be brief."
    assert attributes["llm.input_messages.1.message.content"] == "Hi"
    assert attributes["llm.output_messages.0.message.content"] == "Hello"
    assert attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attributes["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert json.loads(attributes["llm.invocation_parameters"]) == {"max_tokens": 50}


def test_several_traces_share_one_request() -> None:
    first, second = chat_trace(), chat_trace()
    request = export([first, second])
    spans = request.resource_spans[0].scope_spans[0].spans

    assert len(spans) == 4
    assert {span.trace_id.hex() for span in spans} == {
        first.trace_id.removeprefix("tr-"),
        second.trace_id.removeprefix("tr-"),
    }


def test_resource_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _otlp.resource_attributes()["service.name"] == "tracewire"
    assert "service.name" not in _otlp.resource_attributes(default_service_name=None)

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=dev,team=a%20b,bad")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    resource = _otlp.resource_attributes(default_service_name=None)

    assert resource["service.name"] == "checkout"
    assert resource["deployment.environment"] == "dev"
    assert resource["team"] == "a b"
    assert resource["telemetry.sdk.name"] == "tracewire"
    request = export([chat_trace()])
    assert any(
        item.key == "service.name" and item.value.string_value == "checkout"
        for item in request.resource_spans[0].resource.attributes
    )


def test_rejected_spans_are_read_from_a_partial_success_response() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTracePartialSuccess,
        ExportTraceServiceResponse,
    )

    body = ExportTraceServiceResponse(
        partial_success=ExportTracePartialSuccess(rejected_spans=2, error_message="too big")
    ).SerializeToString()

    assert _otlp.rejected_spans(body) == (2, "too big")
    assert _otlp.rejected_spans(b"") == (0, "")
    assert _otlp.rejected_spans(b"\xff not protobuf") == (0, "")

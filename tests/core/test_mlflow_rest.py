"""MLflow REST payloads, without a server.

When a trace needs the trace-info call, what that call sends, and how the server's trace JSON (typed
attribute values, base64 ids) is read back.

The shapes are those an MLflow 3.17 server returned from ``/api/3.0/mlflow/traces/get``; the
interop session (``nox -s interop``) checks them against a real server.
"""

from __future__ import annotations

import base64
import json

import tracewire
from tracewire._mlflow_rest import needs_trace_info, trace_from_json, trace_info_body
from tracewire._span import Span
from tracewire._status import SpanStatus
from tracewire._trace import Trace, TraceData, TraceInfo
from tracewire.entities import SpanType

SERVER_TRACE = {
    "trace_info": {
        "trace_id": "tr-15ff091d97c83b5a479ae0e273623625",
        "client_request_id": "req-1",
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": "1"},
        },
        "request_time": "2026-11-22T01:42:12.995Z",
        "execution_duration": "0.162s",
        "state": "OK",
        "trace_metadata": {"app.version": "1", "mlflow.trace.tokenUsage": '{"input_tokens": 3}'},
        "tags": {"mlflow.traceName": "f", "env": "x"},
        "request_preview": '{"q": "2+2?"}',
        "response_preview": '"4"',
    },
    "spans": [
        {
            "trace_id": "Ff8JHZfIO1pHmuDic2I2JQ==",
            "span_id": "qeg7JcsnkBg=",
            "parent_span_id": "+nekJ/z6JYw=",
            "name": "llm",
            "start_time_unix_nano": 1795311733157173273,
            "end_time_unix_nano": 1795311733157881468,
            "attributes": [
                {"key": "mlflow.spanType", "value": {"string_value": "CHAT_MODEL"}},
                {
                    "key": "mlflow.spanInputs",
                    "value": {
                        "kvlist_value": {
                            "values": [
                                {
                                    "key": "messages",
                                    "value": {
                                        "array_value": {
                                            "values": [
                                                {
                                                    "kvlist_value": {
                                                        "values": [
                                                            {
                                                                "key": "role",
                                                                "value": {"string_value": "user"},
                                                            }
                                                        ]
                                                    }
                                                }
                                            ]
                                        }
                                    },
                                }
                            ]
                        }
                    },
                },
                {"key": "mlflow.spanOutputs", "value": {"string_value": "4"}},
                {"key": "mlflow.spanLogLevel", "value": {"int_value": "20"}},
                {"key": "temperature", "value": {"double_value": 0.2}},
                {"key": "stream", "value": {"bool_value": False}},
            ],
            "events": [
                {
                    "name": "exception",
                    "time_unix_nano": "1795311733157881000",
                    "attributes": [{"key": "exception.type", "value": {"string_value": "E"}}],
                }
            ],
            "status": {"code": "STATUS_CODE_ERROR", "message": "E: bad"},
        },
        {
            "trace_id": "Ff8JHZfIO1pHmuDic2I2JQ==",
            "span_id": "+nekJ/z6JYw=",
            "name": "f",
            "start_time_unix_nano": 1795311732995882818,
            "end_time_unix_nano": 1795311733158347155,
            "attributes": [{"key": "mlflow.spanType", "value": {"string_value": "CHAIN"}}],
            "status": {"code": "STATUS_CODE_OK"},
        },
    ],
}


def test_server_trace_json_reads_like_mlflows_client_reads_it() -> None:
    trace = trace_from_json(SERVER_TRACE)

    assert trace.trace_id == "tr-15ff091d97c83b5a479ae0e273623625"
    assert trace.info.experiment_id == "1"
    assert trace.info.execution_duration == 162
    assert trace.info.client_request_id == "req-1"
    assert trace.info.tags["env"] == "x"
    root, llm = trace.data.spans  # root first, whatever order the server used
    assert root.name == "f"
    assert root.parent_id is None
    assert llm.parent_id == root.span_id == base64.b64decode("+nekJ/z6JYw=").hex()
    assert llm.trace_id == trace.trace_id
    assert llm.span_type == SpanType.CHAT_MODEL
    assert llm.inputs == {"messages": [{"role": "user"}]}
    assert llm.outputs == "4"
    assert llm.get_attribute("mlflow.spanLogLevel") == 20
    assert llm.get_attribute("temperature") == 0.2
    assert llm.get_attribute("stream") is False
    assert llm.status == SpanStatus("ERROR", "E: bad")
    (event,) = llm.events
    assert (event.name, event.timestamp) == ("exception", 1795311733157881000)
    assert event.attributes == {"exception.type": "E"}


def _trace() -> tuple[Trace, Span]:
    with tracewire.start_span("root", span_type=SpanType.CHAIN) as span:
        span.set_inputs({"q": "hi"})
        span.set_outputs("done")
    trace = tracewire.get_trace(span.trace_id)
    assert trace is not None
    return trace, trace.data.spans[0]


def test_a_plain_trace_needs_no_trace_info_call() -> None:
    trace, root = _trace()

    assert not needs_trace_info(trace, root)


def test_what_otlp_cannot_carry_needs_the_trace_info_call() -> None:
    trace, root = _trace()
    for change in (
        {"client_request_id": "req-1"},
        {"trace_metadata": {**trace.info.trace_metadata, "app.version": "2"}},
        {"state": "ERROR"},  # set by the user; the root span is OK
        {"request_preview": "my own preview"},
    ):
        info = TraceInfo.from_dict({**trace.info.to_dict(), **change})
        assert needs_trace_info(Trace(info, trace.data), root), change
    for derived in ("mlflow.trace.session", "mlflow.trace.user", "mlflow.trace.tokenUsage"):
        metadata = {**trace.info.trace_metadata, derived: "x"}
        info = TraceInfo.from_dict({**trace.info.to_dict(), "trace_metadata": metadata})
        assert not needs_trace_info(Trace(info, trace.data), root), derived


def test_a_part_of_a_distributed_trace_never_overwrites_the_trace_info() -> None:
    trace, root = _trace()
    remote_child = Span.from_dict({**root.to_dict(), "parent_span_id": "AAAAAAAAAAE="})
    info = TraceInfo.from_dict({**trace.info.to_dict(), "client_request_id": "req-1"})

    assert not needs_trace_info(Trace(info, TraceData([remote_child])), remote_child)


def test_trace_info_body_is_mlflows_start_trace_v3_shape() -> None:
    trace, _ = _trace()
    trace.info.client_request_id = "req-9"
    body = trace_info_body(trace)["trace"]["trace_info"]

    assert body["trace_id"] == trace.trace_id
    assert body["client_request_id"] == "req-9"
    assert body["trace_location"] == {
        "type": "MLFLOW_EXPERIMENT",
        "mlflow_experiment": {"experiment_id": "0"},
    }
    assert body["request_time"].endswith("Z")
    assert body["execution_duration"].endswith("s")
    assert body["state"] == "OK"
    assert body["tags"]["mlflow.traceName"] == "root"
    assert body["request_preview"] == '{"q": "hi"}'
    assert body["response_preview"] == '"done"'
    json.dumps(body)  # JSON-serialisable as it is

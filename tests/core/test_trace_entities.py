"""Trace, TraceInfo and TraceData: MLflow's shape, aliases and round trips."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

import tracewire
from tracewire.entities import SpanType, Trace, TraceInfo, TraceState

LastTrace = Callable[[], tracewire.Trace]


def _sample(last_trace: LastTrace) -> Trace:
    with tracewire.start_span("pipeline", span_type=SpanType.CHAIN) as root:
        root.set_inputs({"question": "q"})
        with tracewire.start_span("retrieve", span_type=SpanType.RETRIEVER):
            pass
        with tracewire.start_span("generate", span_type=SpanType.LLM):
            pass
        root.set_outputs("answer")
        tracewire.update_current_trace(tags={"t": "1"}, client_request_id="c-1")
    return last_trace()


def test_json_round_trip_preserves_the_trace(last_trace: LastTrace) -> None:
    """``Trace.from_json(trace.to_json())`` gives back an equal dict."""
    trace = _sample(last_trace)
    copy = Trace.from_json(trace.to_json(pretty=True))
    assert copy.to_dict() == trace.to_dict()
    assert copy.info.client_request_id == "c-1"
    assert copy.data.spans[0].inputs == {"question": "q"}


def test_info_dict_has_mlflow_fields(last_trace: LastTrace) -> None:
    """The info dict uses MLflow's proto-JSON field names and formats."""
    info = _sample(last_trace).to_dict()["info"]
    assert info["trace_location"] == {
        "type": "MLFLOW_EXPERIMENT",
        "mlflow_experiment": {"experiment_id": "0"},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["request_time"])
    assert info["state"] == "OK"
    assert isinstance(info["execution_duration_ms"], int)
    assert info["trace_metadata"]["mlflow.trace_schema.version"] == "3"


def test_info_aliases(last_trace: LastTrace) -> None:
    """MLflow's alias properties read the same values."""
    info = _sample(last_trace).info
    assert info.request_id == info.trace_id
    assert info.timestamp_ms == info.request_time
    assert info.execution_time_ms == info.execution_duration
    assert info.request_metadata is info.trace_metadata
    assert info.status == info.state == TraceState.OK


def test_trace_data_request_and_response_are_raw_json(last_trace: LastTrace) -> None:
    """``TraceData.request``/``response`` are the root's JSON texts."""
    data = _sample(last_trace).data
    assert data.request == '{"question": "q"}'
    assert data.response == '"answer"'


def test_search_spans_by_type_name_and_id(last_trace: LastTrace) -> None:
    """``search_spans`` filters by type, exact name, regex and span id."""
    trace = _sample(last_trace)
    assert [s.name for s in trace.search_spans(span_type=SpanType.RETRIEVER)] == ["retrieve"]
    assert [s.name for s in trace.search_spans(name="generate")] == ["generate"]
    assert [s.name for s in trace.search_spans(name=re.compile("^(re|ge)"))] == [
        "retrieve",
        "generate",
    ]
    span_id = trace.data.spans[1].span_id
    assert [s.span_id for s in trace.search_spans(span_id=span_id)] == [span_id]
    with pytest.raises(TypeError):
        trace.search_spans(name=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["not json", "[]", '{"info": {}}', '{"info": 1, "data": {}}'])
def test_from_json_rejects_malformed_input(bad: str) -> None:
    """Malformed trace JSON is a clear ValueError."""
    with pytest.raises(ValueError):
        Trace.from_json(bad)


def test_info_from_dict_accepts_mlflow_v2_shape() -> None:
    """An MLflow 2.x info dict (request_id, timestamp_ms, tag list) is read."""
    info = TraceInfo.from_dict(
        {
            "request_id": "tr-abc",
            "experiment_id": "3",
            "timestamp_ms": 1700000000000,
            "execution_time_ms": 12,
            "status": "OK",
            "tags": [{"key": "k", "value": "v"}],
        }
    )
    assert (info.trace_id, info.experiment_id, info.request_time) == ("tr-abc", "3", 1700000000000)
    assert (info.execution_duration, info.tags) == (12, {"k": "v"})


def test_duration_in_protobuf_text_is_read() -> None:
    """A duration written as protobuf JSON text ('0.114s') is read as milliseconds."""
    info = TraceInfo.from_dict(
        {
            "trace_id": "tr-1",
            "request_time": "2026-01-01T00:00:00.000Z",
            "execution_duration": "0.114s",
            "state": "OK",
        }
    )
    assert info.execution_duration == 114
    assert info.request_time == 1767225600000


@pytest.mark.parametrize(
    ("request_time", "written"),
    [
        (1767225600000, "2026-01-01T00:00:00Z"),
        (1767225600007, "2026-01-01T00:00:00.007Z"),
        (1767225600120, "2026-01-01T00:00:00.120Z"),
    ],
)
def test_request_time_is_written_as_protobuf_writes_it(request_time: int, written: str) -> None:
    """A whole second has no fraction, as in MLflow's proto JSON; otherwise three digits."""
    info = TraceInfo(trace_id="tr-1", request_time=request_time, state=TraceState.OK)

    assert info.to_dict()["request_time"] == written
    assert TraceInfo.from_dict(info.to_dict()).request_time == request_time


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (["not", "a", "dict"], "a trace dict is required, got list"),
        ({"info": {}}, "a trace dict needs an 'info' mapping and a 'data' mapping"),
    ],
)
def test_a_malformed_trace_dict_says_what_is_wrong(payload: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Trace.from_dict(payload)  # type: ignore[arg-type]

"""The real ``mlflow-tracing`` package reads tracewire's traces, and tracewire reads MLflow's.

Runs only in ``nox -s mlflow_compat`` (marker ``mlflow``), which installs ``mlflow-tracing``.

Direction 1: a trace written by tracewire goes through ``to_dict``/``to_json`` into MLflow's own
``mlflow.entities.Trace.from_dict``/``from_json``, and every field is checked on MLflow's objects.

Direction 2: a trace produced by the real MLflow (``@mlflow.trace``, ``mlflow.start_span``, read back
with ``mlflow.get_trace``) goes into ``tracewire.entities.Trace.from_dict``/``from_json``.

MLflow needs a tracking store to keep finished traces, and ``mlflow-tracing`` ships none that works
offline (its file and SQL stores need the full ``mlflow`` package). So direction 2 registers a small
in-memory tracking store for a private URI scheme; MLflow's own processor, exporter and
``get_trace`` do the rest. Every MLflow setting is scoped to one test and reset afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tracewire
from tracewire.entities import Document, SpanEvent, SpanType
from tracewire.tracing.constant import SpanAttributeKey

pytestmark = pytest.mark.mlflow

# MLflow sends usage telemetry unless told not to; these tests must stay offline.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

mlflow = pytest.importorskip("mlflow")

from mlflow.entities import Span as MlflowSpan  # noqa: E402 - needs the importorskip above
from mlflow.entities import SpanStatusCode as MlflowSpanStatusCode  # noqa: E402
from mlflow.entities import Trace as MlflowTrace  # noqa: E402
from mlflow.entities import TraceData as MlflowTraceData  # noqa: E402
from mlflow.entities import TraceInfo as MlflowTraceInfo  # noqa: E402
from mlflow.entities import TraceState as MlflowTraceState  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

USAGE = {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}
DOCUMENTS = [
    {"page_content": "MLflow Tracing records spans", "metadata": {"doc_uri": "a.md"}, "id": "d1"},
    {"page_content": "Spans have parents", "metadata": {"score": 0.5}, "id": None},
]
STORE_SCHEME = "tracewire-test-memory"


def by_name(spans: list[Any], name: str) -> Any:
    """Return the single span called ``name``."""
    matches = [span for span in spans if span.name == name]
    assert len(matches) == 1, f"expected one span named {name!r}, got {matches}"
    return matches[0]


def without_kind(trace_dict: dict[str, Any]) -> dict[str, Any]:
    """Drop the span ``kind`` field, which only MLflow 3.18+ writes (always SPAN_KIND_INTERNAL)."""
    copy = json.loads(json.dumps(trace_dict))
    for span in copy["data"]["spans"]:
        span.pop("kind", None)
    return copy


# --- traces written by tracewire -----------------------------------------------------------------


@tracewire.trace(span_type=SpanType.LLM)
def call_llm(prompt: str) -> str:
    span = tracewire.get_current_active_span()
    assert span is not None
    span.set_attribute(SpanAttributeKey.CHAT_USAGE, dict(USAGE))
    return f"answer to {prompt}"


@tracewire.trace(span_type=SpanType.RETRIEVER)
def retrieve(query: str) -> list[Document]:
    return [Document(**document) for document in DOCUMENTS]


@tracewire.trace(span_type=SpanType.TOOL)
def flaky_tool(x: int) -> int:
    raise ValueError(f"tool failed on {x}")


@tracewire.trace(name="rag_pipeline", span_type=SpanType.CHAIN, attributes={"pipeline.version": 2})
def rag_pipeline(question: str) -> dict[str, Any]:
    tracewire.update_current_trace(
        tags={"env": "test", "team": "search"},
        metadata={"app.release": "1.2.3"},
        client_request_id="req-42",
    )
    documents = retrieve(question)
    with tracewire.start_span(name="rerank", span_type=SpanType.RERANKER) as span:
        span.set_inputs({"n": len(documents)})
        span.add_event(SpanEvent("reranked", attributes={"kept": 1, "model": "bge"}))
        with tracewire.start_span(name="score") as inner:
            inner.set_attribute("scores", [0.9, 0.1])
        span.set_outputs({"kept": [documents[0].id]})
    with contextlib.suppress(ValueError):
        flaky_tool(3)
    return {"answer": call_llm(question), "sources": ["d1"]}


@tracewire.trace(name="failing_pipeline")
def failing_pipeline(question: str) -> str:
    call_llm(question)
    raise RuntimeError("the pipeline broke")


def finished_tracewire_trace() -> tracewire.Trace:
    """Return the trace tracewire finished last."""
    trace_id = tracewire.get_last_active_trace_id()
    assert trace_id is not None
    trace = tracewire.get_trace(trace_id)
    assert trace is not None
    return trace


@pytest.fixture
def ours() -> tracewire.Trace:
    """A finished tracewire trace of ``rag_pipeline``."""
    rag_pipeline("what is tracing?")
    return finished_tracewire_trace()


@pytest.fixture
def ours_failed() -> tracewire.Trace:
    """A finished tracewire trace whose root span raised."""
    with pytest.raises(RuntimeError):
        failing_pipeline("q")
    return finished_tracewire_trace()


MlflowReader = Callable[[tracewire.Trace], Any]


def read_with_from_dict(trace: tracewire.Trace) -> Any:
    return MlflowTrace.from_dict(trace.to_dict())


def read_with_from_json(trace: tracewire.Trace) -> Any:
    return MlflowTrace.from_json(trace.to_json())


@pytest.fixture(params=[read_with_from_dict, read_with_from_json], ids=["from_dict", "from_json"])
def mlflow_reads(request: pytest.FixtureRequest) -> MlflowReader:
    """MLflow's way of loading our trace: ``Trace.from_dict(to_dict())`` or ``from_json(to_json())``."""
    reader: MlflowReader = request.param
    return reader


def test_mlflow_loads_our_trace_as_its_own_entities(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """MLflow builds its own ``Trace``, ``TraceInfo``, ``TraceData`` and ``Span`` objects."""
    theirs = mlflow_reads(ours)

    assert isinstance(theirs, MlflowTrace)
    assert isinstance(theirs.info, MlflowTraceInfo)
    assert isinstance(theirs.data, MlflowTraceData)
    assert all(isinstance(span, MlflowSpan) for span in theirs.data.spans)
    assert len(theirs.data.spans) == len(ours.data.spans) == 6


def test_mlflow_reads_the_trace_id(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """The trace id survives, on the info and on every span."""
    theirs = mlflow_reads(ours)

    assert theirs.info.trace_id == ours.info.trace_id
    assert {span.trace_id for span in theirs.data.spans} == {ours.info.trace_id}


def test_mlflow_reads_span_ids_and_parent_ids(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """MLflow sees the same span ids and parent links, so it rebuilds the same tree."""
    theirs = mlflow_reads(ours)

    assert [(s.name, s.span_id, s.parent_id) for s in theirs.data.spans] == [
        (s.name, s.span_id, s.parent_id) for s in ours.data.spans
    ]
    spans = theirs.data.spans
    root = by_name(spans, "rag_pipeline")
    assert root.parent_id is None
    for name in ("retrieve", "rerank", "flaky_tool", "call_llm"):
        assert by_name(spans, name).parent_id == root.span_id
    assert by_name(spans, "score").parent_id == by_name(spans, "rerank").span_id


def test_mlflow_reads_span_names_and_types(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """Span names and span types are what tracewire recorded."""
    theirs = mlflow_reads(ours)

    assert {span.name: span.span_type for span in theirs.data.spans} == {
        "rag_pipeline": "CHAIN",
        "retrieve": "RETRIEVER",
        "rerank": "RERANKER",
        "score": "UNKNOWN",
        "flaky_tool": "TOOL",
        "call_llm": "LLM",
    }


def test_mlflow_reads_inputs_and_outputs(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """Inputs and outputs decode to the same values, retriever documents included."""
    spans = mlflow_reads(ours).data.spans

    root = by_name(spans, "rag_pipeline")
    assert root.inputs == {"question": "what is tracing?"}
    assert root.outputs == {"answer": "answer to what is tracing?", "sources": ["d1"]}
    assert by_name(spans, "retrieve").inputs == {"query": "what is tracing?"}
    assert by_name(spans, "retrieve").outputs == DOCUMENTS
    assert by_name(spans, "rerank").inputs == {"n": 2}
    assert by_name(spans, "rerank").outputs == {"kept": ["d1"]}
    assert by_name(spans, "flaky_tool").inputs == {"x": 3}
    assert by_name(spans, "flaky_tool").outputs is None
    assert by_name(spans, "call_llm").outputs == "answer to what is tracing?"


def test_mlflow_reads_custom_attributes(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """Attributes set by the decorator and by ``set_attribute`` decode to the same values."""
    spans = mlflow_reads(ours).data.spans

    root = by_name(spans, "rag_pipeline")
    assert root.get_attribute("pipeline.version") == 2
    assert root.get_attribute(SpanAttributeKey.FUNCTION_NAME) == "rag_pipeline"
    assert by_name(spans, "score").get_attribute("scores") == [0.9, 0.1]
    assert by_name(spans, "score").attributes["scores"] == [0.9, 0.1]


def test_mlflow_reads_span_status_codes(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """The failed span is ERROR and every other span is OK, as MLflow's enum values."""
    spans = mlflow_reads(ours).data.spans

    codes = {span.name: span.status.status_code for span in spans}
    assert codes.pop("flaky_tool") == MlflowSpanStatusCode.ERROR
    assert set(codes.values()) == {MlflowSpanStatusCode.OK}


def test_mlflow_reads_the_error_description(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """The failed span's status description is MLflow's ``"Type: message"``."""
    span = by_name(mlflow_reads(ours).data.spans, "flaky_tool")

    assert span.status.description == "ValueError: tool failed on 3"


def test_mlflow_reads_the_exception_event(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """The ``exception`` event keeps its message, type and stack trace."""
    span = by_name(mlflow_reads(ours).data.spans, "flaky_tool")

    assert [event.name for event in span.events] == ["exception"]
    attributes = span.events[0].attributes
    assert attributes["exception.message"] == "tool failed on 3"
    assert attributes["exception.type"] == "ValueError"
    assert "ValueError: tool failed on 3" in attributes["exception.stacktrace"]


def test_mlflow_reads_custom_events(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """A custom event keeps its name, timestamp and plain attribute values."""
    theirs = by_name(mlflow_reads(ours).data.spans, "rerank")
    recorded = by_name(ours.data.spans, "rerank")

    assert [event.name for event in theirs.events] == ["reranked"]
    assert theirs.events[0].attributes == {"kept": 1, "model": "bge"}
    assert theirs.events[0].timestamp == recorded.events[0].timestamp


def test_mlflow_reads_span_timestamps(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """Span start and end times are the same nanosecond timestamps."""
    theirs = mlflow_reads(ours)

    assert [(s.start_time_ns, s.end_time_ns) for s in theirs.data.spans] == [
        (s.start_time_ns, s.end_time_ns) for s in ours.data.spans
    ]


def test_mlflow_reads_the_span_token_usage(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """The LLM span's ``mlflow.chat.tokenUsage`` attribute decodes to the recorded counts."""
    span = by_name(mlflow_reads(ours).data.spans, "call_llm")

    assert span.get_attribute(SpanAttributeKey.CHAT_USAGE) == USAGE


def test_mlflow_reads_the_trace_token_usage(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """MLflow's ``TraceInfo.token_usage`` parses tracewire's trace-level usage metadata."""
    assert mlflow_reads(ours).info.token_usage == USAGE


def test_mlflow_reads_the_ok_state(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """A trace whose root succeeded is OK for MLflow, though a child failed."""
    assert mlflow_reads(ours).info.state == MlflowTraceState.OK


def test_mlflow_reads_the_error_state(
    ours_failed: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """A trace whose root raised is ERROR for MLflow, with the root's error recorded."""
    theirs = mlflow_reads(ours_failed)

    assert theirs.info.state == MlflowTraceState.ERROR
    root = by_name(theirs.data.spans, "failing_pipeline")
    assert root.status.status_code == MlflowSpanStatusCode.ERROR
    assert root.status.description == "RuntimeError: the pipeline broke"
    assert by_name(theirs.data.spans, "call_llm").status.status_code == MlflowSpanStatusCode.OK


def test_mlflow_reads_tags(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """Tags set with ``update_current_trace`` and the trace name tag are MLflow tags."""
    tags = mlflow_reads(ours).info.tags

    assert tags["env"] == "test"
    assert tags["team"] == "search"
    assert tags["mlflow.traceName"] == "rag_pipeline"
    assert tags == ours.info.tags


def test_mlflow_reads_metadata(ours: tracewire.Trace, mlflow_reads: MlflowReader) -> None:
    """Metadata set with ``update_current_trace`` and tracewire's standard keys are MLflow's."""
    metadata = mlflow_reads(ours).info.trace_metadata

    assert metadata["app.release"] == "1.2.3"
    assert metadata["mlflow.trace_schema.version"] == "3"
    assert json.loads(metadata["mlflow.traceInputs"]) == {"question": "what is tracing?"}
    assert metadata == ours.info.trace_metadata


def test_mlflow_reads_the_client_request_id(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """The client request id set with ``update_current_trace`` survives."""
    assert mlflow_reads(ours).info.client_request_id == "req-42"


def test_mlflow_reads_request_and_response_previews(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """Request and response previews are the root inputs and outputs as JSON."""
    info = mlflow_reads(ours).info

    assert json.loads(info.request_preview) == {"question": "what is tracing?"}
    assert json.loads(info.response_preview) == {
        "answer": "answer to what is tracing?",
        "sources": ["d1"],
    }
    assert (info.request_preview, info.response_preview) == (
        ours.info.request_preview,
        ours.info.response_preview,
    )


def test_mlflow_reads_request_time_and_execution_duration(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """``request_time`` and ``execution_duration`` (both ms) are the values tracewire wrote."""
    info = mlflow_reads(ours).info
    root = by_name(ours.data.spans, "rag_pipeline")

    assert info.request_time == ours.info.request_time == root.start_time_ns // 1_000_000
    assert info.execution_duration == ours.info.execution_duration
    assert info.execution_duration == (root.end_time_ns - root.start_time_ns) // 1_000_000


@pytest.mark.parametrize("request_time", [1767225600000, 1767225600007, 1767225600120])
def test_mlflow_writes_our_request_time_back_the_same(request_time: int) -> None:
    """MLflow's dict of our info has the same request time text, whole seconds included."""
    ours = tracewire.entities.TraceInfo(
        trace_id="tr-" + "0" * 32, request_time=request_time, state="OK"
    )

    theirs = MlflowTraceInfo.from_dict(ours.to_dict())

    assert theirs.request_time == request_time
    assert theirs.to_dict()["request_time"] == ours.to_dict()["request_time"]


def test_mlflow_reads_the_experiment_location(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """The trace belongs to MLflow's default experiment ``"0"``."""
    assert mlflow_reads(ours).info.experiment_id == "0"


def test_mlflow_reads_request_and_response_of_the_trace_data(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """``TraceData.request``/``response`` are the root span's raw inputs/outputs JSON."""
    data = mlflow_reads(ours).data

    assert json.loads(data.request) == {"question": "what is tracing?"}
    assert json.loads(data.response)["sources"] == ["d1"]


def test_mlflow_search_spans_works_on_our_trace(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """MLflow's ``search_spans`` finds our spans by type and by name."""
    theirs = mlflow_reads(ours)

    assert [span.name for span in theirs.search_spans(span_type="RETRIEVER")] == ["retrieve"]
    assert [span.name for span in theirs.search_spans(name="score")] == ["score"]


def test_mlflow_writes_back_the_same_dict(
    ours: tracewire.Trace, mlflow_reads: MlflowReader
) -> None:
    """MLflow re-serializes our trace to exactly the dict tracewire wrote (nothing lost)."""
    theirs = mlflow_reads(ours)

    assert without_kind(theirs.to_dict()) == without_kind(ours.to_dict())


# --- traces written by MLflow ------------------------------------------------------------------


class InMemoryTraceStore:
    """The tracking-store calls MLflow's exporter and ``get_trace`` make, kept in memory.

    Like MLflow's SQL store, it keeps spans itself (``mlflow.trace.spansLocation`` =
    ``TRACKING_STORE``) and stores serialized copies, so what ``get_trace`` returns was really
    written and read back.
    """

    def __init__(self) -> None:
        self.trace_infos: dict[str, dict[str, Any]] = {}
        self.spans: dict[str, dict[str, dict[str, Any]]] = {}

    def clear(self) -> None:
        self.trace_infos.clear()
        self.spans.clear()

    def start_trace(self, trace_info: Any) -> Any:
        from mlflow.tracing.constant import SpansLocation, TraceTagKey

        trace_info.tags[TraceTagKey.SPANS_LOCATION] = SpansLocation.TRACKING_STORE.value
        self.trace_infos[trace_info.trace_id] = trace_info.to_dict()
        return trace_info

    def log_spans(self, location: str, spans: list[Any], tracking_uri: str | None = None) -> Any:
        del location, tracking_uri
        for span in spans:
            self.spans.setdefault(span.trace_id, {})[span.span_id] = span.to_dict()
        return spans

    def get_trace_info(self, trace_id: str) -> Any:
        if trace_id not in self.trace_infos:
            raise MlflowException(
                f"Trace with ID {trace_id} is not found.", error_code="RESOURCE_DOES_NOT_EXIST"
            )
        return MlflowTraceInfo.from_dict(self.trace_infos[trace_id])

    def get_trace(self, trace_id: str) -> Any:
        info = self.get_trace_info(trace_id)
        spans = [MlflowSpan.from_dict(data) for data in self.spans.get(trace_id, {}).values()]
        spans.sort(key=lambda span: span.start_time_ns)
        return MlflowTrace(info=info, data=MlflowTraceData(spans=spans))

    def batch_get_traces(self, trace_ids: list[str], location: str | None = None) -> list[Any]:
        del location
        return [self.get_trace(trace_id) for trace_id in trace_ids if trace_id in self.trace_infos]


STORE = InMemoryTraceStore()


def build_store(store_uri: str | None = None, artifact_uri: str | None = None) -> Any:
    del store_uri, artifact_uri
    return STORE


@pytest.fixture
def mlflow_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point MLflow at the in-memory store for one test, exporting synchronously; reset after."""
    # Private MLflow API: the registry of tracking-store URI schemes that store plugins join through
    # entry points. mlflow-tracing has no public way to keep traces in memory.
    from mlflow.entities import MlflowExperimentLocation
    from mlflow.tracking._tracking_service.utils import _register

    _register(STORE_SCHEME, build_store)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{STORE_SCHEME}://")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    mlflow.tracing.reset()
    mlflow.tracing.set_destination(MlflowExperimentLocation(experiment_id="0"))
    try:
        yield
    finally:
        mlflow.tracing.reset()
        STORE.clear()


@mlflow.trace(span_type="LLM")
def mlflow_llm(prompt: str) -> str:
    span = mlflow.get_current_active_span()
    span.set_attribute(SpanAttributeKey.CHAT_USAGE, dict(USAGE))
    return f"answer to {prompt}"


@mlflow.trace(span_type="RETRIEVER")
def mlflow_retrieve(query: str) -> list[Any]:
    return [mlflow.entities.Document(**document) for document in DOCUMENTS]


@mlflow.trace(span_type="TOOL")
def mlflow_flaky_tool(x: int) -> int:
    raise ValueError(f"tool failed on {x}")


@mlflow.trace(name="rag_pipeline", span_type="CHAIN", attributes={"pipeline.version": 2})
def mlflow_rag_pipeline(question: str) -> dict[str, Any]:
    mlflow.update_current_trace(
        tags={"env": "test", "team": "search"},
        metadata={"app.release": "1.2.3"},
        client_request_id="req-42",
    )
    documents = mlflow_retrieve(question)
    with mlflow.start_span(name="rerank", span_type="RERANKER") as span:
        span.set_inputs({"n": len(documents)})
        span.add_event(
            mlflow.entities.SpanEvent("reranked", attributes={"kept": 1, "model": "bge"})
        )
        with mlflow.start_span(name="score") as inner:
            inner.set_attribute("scores", [0.9, 0.1])
        span.set_outputs({"kept": [documents[0].id]})
    with contextlib.suppress(ValueError):
        mlflow_flaky_tool(3)
    return {"answer": mlflow_llm(question), "sources": ["d1"]}


@mlflow.trace(name="failing_pipeline")
def mlflow_failing_pipeline(question: str) -> str:
    mlflow_llm(question)
    raise RuntimeError("the pipeline broke")


def finished_mlflow_trace() -> Any:
    """Return the trace MLflow finished last, read back from its store with ``get_trace``."""
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    trace = mlflow.get_trace(trace_id)
    assert trace is not None, f"MLflow did not store trace {trace_id}"
    return trace


@pytest.fixture
def theirs(mlflow_tracing: None) -> Any:
    """A trace of the pipeline made by the real MLflow."""
    mlflow_rag_pipeline("what is tracing?")
    return finished_mlflow_trace()


@pytest.fixture
def theirs_failed(mlflow_tracing: None) -> Any:
    """A trace made by the real MLflow whose root span raised."""
    with pytest.raises(RuntimeError):
        mlflow_failing_pipeline("q")
    return finished_mlflow_trace()


TracewireReader = Callable[[Any], tracewire.Trace]


def read_mlflow_dict(trace: Any) -> tracewire.Trace:
    return tracewire.entities.Trace.from_dict(trace.to_dict())


def read_mlflow_json(trace: Any) -> tracewire.Trace:
    return tracewire.entities.Trace.from_json(trace.to_json())


@pytest.fixture(params=[read_mlflow_dict, read_mlflow_json], ids=["from_dict", "from_json"])
def tracewire_reads(request: pytest.FixtureRequest) -> TracewireReader:
    """How tracewire loads MLflow's trace: ``from_dict(to_dict())`` or ``from_json(to_json())``."""
    reader: TracewireReader = request.param
    return reader


def test_mlflow_made_a_complete_trace(theirs: Any) -> None:
    """Sanity check of the setup: MLflow stored all six spans of the pipeline."""
    assert sorted(span.name for span in theirs.data.spans) == [
        "mlflow_flaky_tool",
        "mlflow_llm",
        "mlflow_retrieve",
        "rag_pipeline",
        "rerank",
        "score",
    ]


def test_we_read_mlflows_trace_id(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """MLflow's trace id is read back, on the info and on every span."""
    ours = tracewire_reads(theirs)

    assert ours.info.trace_id == theirs.info.trace_id
    assert {span.trace_id for span in ours.data.spans} == {theirs.info.trace_id}


def test_we_read_mlflows_span_ids_and_parent_ids(
    theirs: Any, tracewire_reads: TracewireReader
) -> None:
    """MLflow's base64 span and parent ids decode to the same hex ids."""
    ours = tracewire_reads(theirs)

    assert [(s.name, s.span_id, s.parent_id) for s in ours.data.spans] == [
        (s.name, s.span_id, s.parent_id) for s in theirs.data.spans
    ]
    root = by_name(ours.data.spans, "rag_pipeline")
    assert root.parent_id is None
    assert by_name(ours.data.spans, "score").parent_id == by_name(ours.data.spans, "rerank").span_id


def test_we_read_mlflows_span_names_and_types(
    theirs: Any, tracewire_reads: TracewireReader
) -> None:
    """Span types come back as the strings MLflow recorded."""
    ours = tracewire_reads(theirs)

    assert {span.name: span.span_type for span in ours.data.spans} == {
        "rag_pipeline": SpanType.CHAIN,
        "mlflow_retrieve": SpanType.RETRIEVER,
        "rerank": SpanType.RERANKER,
        "score": SpanType.UNKNOWN,
        "mlflow_flaky_tool": SpanType.TOOL,
        "mlflow_llm": SpanType.LLM,
    }


def test_we_read_mlflows_inputs_and_outputs(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """Inputs and outputs decode to what MLflow decodes, retriever documents included."""
    ours = tracewire_reads(theirs)

    for span in theirs.data.spans:
        read = by_name(ours.data.spans, span.name)
        assert (read.inputs, read.outputs) == (span.inputs, span.outputs), span.name
    assert by_name(ours.data.spans, "mlflow_retrieve").outputs == DOCUMENTS
    assert by_name(ours.data.spans, "rag_pipeline").inputs == {"question": "what is tracing?"}


def test_we_read_mlflows_attributes(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """Every attribute decodes to the value MLflow decodes."""
    ours = tracewire_reads(theirs)

    for span in theirs.data.spans:
        assert by_name(ours.data.spans, span.name).attributes == span.attributes, span.name
    assert by_name(ours.data.spans, "rag_pipeline").get_attribute("pipeline.version") == 2


def test_we_read_mlflows_status_codes_and_error_description(
    theirs: Any, tracewire_reads: TracewireReader
) -> None:
    """The failed span is ERROR with MLflow's description; the others are OK."""
    ours = tracewire_reads(theirs)

    for span in theirs.data.spans:
        read = by_name(ours.data.spans, span.name)
        assert read.status.status_code.value == span.status.status_code.value, span.name
        assert read.status.description == span.status.description, span.name
    failed = by_name(ours.data.spans, "mlflow_flaky_tool")
    assert failed.status.status_code == tracewire.SpanStatusCode.ERROR
    assert failed.status.description == "ValueError: tool failed on 3"


def test_we_read_mlflows_events(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """Events keep names, timestamps and attributes, the exception event included."""
    ours = tracewire_reads(theirs)

    for span in theirs.data.spans:
        read = by_name(ours.data.spans, span.name)
        assert [(e.name, e.timestamp, e.attributes) for e in read.events] == [
            (e.name, e.timestamp, e.attributes) for e in span.events
        ], span.name
    exception = by_name(ours.data.spans, "mlflow_flaky_tool").events[0]
    assert exception.name == "exception"
    assert exception.attributes["exception.type"] == "ValueError"
    assert exception.attributes["exception.message"] == "tool failed on 3"
    assert by_name(ours.data.spans, "rerank").events[0].attributes == {"kept": 1, "model": "bge"}


def test_we_read_mlflows_span_timestamps(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """Span start and end times are MLflow's nanosecond timestamps."""
    ours = tracewire_reads(theirs)

    assert [(s.start_time_ns, s.end_time_ns) for s in ours.data.spans] == [
        (s.start_time_ns, s.end_time_ns) for s in theirs.data.spans
    ]


def test_we_read_mlflows_token_usage(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """The span usage attribute and MLflow's trace-level usage are read back."""
    ours = tracewire_reads(theirs)

    assert theirs.info.token_usage == USAGE
    assert ours.info.token_usage == USAGE
    assert by_name(ours.data.spans, "mlflow_llm").get_attribute(SpanAttributeKey.CHAT_USAGE) == (
        USAGE
    )


def test_we_read_mlflows_ok_state(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """MLflow's OK state is tracewire's OK state."""
    assert theirs.info.state == MlflowTraceState.OK
    assert tracewire_reads(theirs).info.state == tracewire.TraceState.OK


def test_we_read_mlflows_error_state(theirs_failed: Any, tracewire_reads: TracewireReader) -> None:
    """MLflow's ERROR state and the failed root's description are read back."""
    ours = tracewire_reads(theirs_failed)

    assert theirs_failed.info.state == MlflowTraceState.ERROR
    assert ours.info.state == tracewire.TraceState.ERROR
    root = by_name(ours.data.spans, "failing_pipeline")
    assert root.status.status_code == tracewire.SpanStatusCode.ERROR
    assert root.status.description == "RuntimeError: the pipeline broke"


def test_we_read_mlflows_tags(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """All of MLflow's tags are read back, user tags included."""
    tags = tracewire_reads(theirs).info.tags

    assert tags == theirs.info.tags
    assert tags["env"] == "test"
    assert tags["team"] == "search"
    assert tags["mlflow.traceName"] == "rag_pipeline"


def test_we_read_mlflows_metadata(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """All of MLflow's metadata is read back, user metadata included."""
    metadata = tracewire_reads(theirs).info.trace_metadata

    assert metadata == theirs.info.trace_metadata
    assert metadata["app.release"] == "1.2.3"


def test_we_read_mlflows_client_request_id(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """The client request id MLflow stored is read back."""
    assert theirs.info.client_request_id == "req-42"
    assert tracewire_reads(theirs).info.client_request_id == "req-42"


def test_we_read_mlflows_previews(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """Request and response previews are read back unchanged."""
    info = tracewire_reads(theirs).info

    assert info.request_preview == theirs.info.request_preview
    assert info.response_preview == theirs.info.response_preview
    assert json.loads(info.request_preview) == {"question": "what is tracing?"}


def test_we_read_mlflows_request_time_and_execution_duration(
    theirs: Any, tracewire_reads: TracewireReader
) -> None:
    """``request_time`` and ``execution_duration`` come back as MLflow's milliseconds."""
    info = tracewire_reads(theirs).info

    assert info.request_time == theirs.info.request_time
    assert info.execution_duration == theirs.info.execution_duration
    assert isinstance(info.execution_duration, int)


def test_we_read_mlflows_experiment(theirs: Any, tracewire_reads: TracewireReader) -> None:
    """The experiment of MLflow's trace location is read back."""
    assert tracewire_reads(theirs).info.experiment_id == theirs.info.experiment_id == "0"


def test_mlflow_reads_back_what_we_read_from_it(
    theirs: Any, tracewire_reads: TracewireReader
) -> None:
    """MLflow → tracewire → MLflow gives MLflow the same trace dict it started with."""
    round_tripped = MlflowTrace.from_dict(tracewire_reads(theirs).to_dict())

    assert without_kind(round_tripped.to_dict()) == without_kind(theirs.to_dict())


def test_mlflow_span_ids_are_base64_on_the_wire(theirs: Any) -> None:
    """Sanity check of the wire format tracewire decodes: MLflow writes base64 ids."""
    root = next(
        span for span in theirs.to_dict()["data"]["spans"] if span["name"] == "rag_pipeline"
    )

    assert (
        base64.b64decode(root["span_id"]).hex()
        == by_name(theirs.data.spans, "rag_pipeline").span_id
    )

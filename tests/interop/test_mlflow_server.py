"""tracewire exports to a real ``mlflow server``; the real ``mlflow`` client reads the traces back.

Each test keeps tracewire's own copy of the trace (the ``Tee`` destination) and checks that MLflow
reads the same span types, inputs, outputs, parents, times, statuses and events, and the same trace
token usage, tags, metadata, previews, state and client request id. Run by ``nox -s interop``.
"""

from __future__ import annotations

import inspect
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("mlflow.server", reason="needs the full mlflow package: run `nox -s interop`")

import tracewire
from tracewire.entities import Document, SpanType
from tracewire.tracing.constant import SpanAttributeKey

pytestmark = pytest.mark.mlflow_server

USAGE = {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
MESSAGES = [{"role": "user", "content": "What is 2+2?"}]
ANSWER = {"choices": [{"message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}]}


def unique(name: str) -> str:
    """An experiment name no earlier run used (a reused server keeps its experiments)."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def query(**fields: Any) -> Any:
    """A search query with the attributes MlflowServerDestination.search_traces reads."""
    defaults = {
        "filter_string": None,
        "experiment_ids": None,
        "order_by": None,
        "max_results": None,
    }
    return SimpleNamespace(**{**defaults, **fields})


def agent_trace(experiment_id: str) -> str:
    """A nested trace of several span types, tags, metadata, usage and an error on a tool span."""
    root = tracewire.start_span_no_context(
        "agent",
        span_type=SpanType.AGENT,
        inputs={"question": "What is 2+2?"},
        tags={"env": "staging"},
        metadata={"app.version": "1.2.3"},
        experiment_id=experiment_id,
    )
    retrieve = tracewire.start_span_no_context(
        "retrieve", SpanType.RETRIEVER, parent_span=root, inputs={"query": "2+2"}
    )
    retrieve.end(outputs=[Document(page_content="2+2=4", metadata={"score": 0.9}, id="d1")])
    chat = tracewire.start_span_no_context(
        "chat",
        SpanType.CHAT_MODEL,
        parent_span=root,
        inputs={"model": "gpt-4o-mini", "messages": MESSAGES},
        attributes={
            SpanAttributeKey.MODEL_PROVIDER: "openai",
            SpanAttributeKey.MODEL: "gpt-4o-mini",
        },
    )
    chat.set_attribute(SpanAttributeKey.CHAT_USAGE, dict(USAGE))
    chat.end(outputs=ANSWER)
    tool = tracewire.start_span_no_context(
        "calculator", SpanType.TOOL, parent_span=root, inputs={"expression": "2+2"}
    )
    tool.record_exception(ValueError("calculator is broken"))
    tool.end()
    parse = tracewire.start_span_no_context("parse", SpanType.PARSER, parent_span=root, inputs="4")
    parse.end(outputs={"answer": 4})
    root.end(outputs={"answer": "4"})
    return root.trace_id


def assert_same_trace(remote: Any, local: tracewire.Trace) -> None:
    """MLflow's reading of the exported trace matches tracewire's own trace."""
    info, ours = remote.info, local.info
    assert info.trace_id == ours.trace_id
    assert info.state.value == ours.state.value
    assert info.request_time == ours.request_time
    assert info.execution_duration == ours.execution_duration
    assert info.request_preview == ours.request_preview
    assert info.response_preview == ours.response_preview
    assert info.client_request_id == ours.client_request_id
    assert info.token_usage == ours.token_usage
    assert info.experiment_id == ours.experiment_id
    assert ours.tags.items() <= info.tags.items()
    assert ours.trace_metadata.items() <= info.trace_metadata.items()
    remote_spans = {span.span_id: span for span in remote.data.spans}
    assert set(remote_spans) == {span.span_id for span in local.data.spans}
    for span in local.data.spans:
        theirs = remote_spans[span.span_id]
        assert theirs.name == span.name
        assert theirs.parent_id == span.parent_id
        assert theirs.span_type == span.span_type
        assert theirs.inputs == span.inputs
        assert theirs.outputs == span.outputs
        assert theirs.start_time_ns == span.start_time_ns
        assert theirs.end_time_ns == span.end_time_ns
        assert theirs.status.status_code.value == span.status.status_code.value
        assert theirs.status.description == span.status.description
        usage = span.get_attribute(SpanAttributeKey.CHAT_USAGE)
        if usage is not None:  # the export fills in a missing total, or MLflow's trace total is 0
            usage.setdefault("total_tokens", usage["input_tokens"] + usage["output_tokens"])
        assert theirs.get_attribute(SpanAttributeKey.CHAT_USAGE) == usage
        assert [(e.name, e.timestamp, e.attributes) for e in theirs.events] == [
            (e.name, e.timestamp, e.attributes) for e in span.events
        ]


def test_nested_span_types_tags_metadata_and_usage_read_back(
    to_server: Any, mlflow_client: Any
) -> None:
    experiment_id = to_server.experiment_id_for(unique("interop-agent"))
    trace_id = agent_trace(experiment_id)
    assert tracewire.flush(60)
    local = tracewire.get_trace(trace_id)
    assert local is not None

    remote = mlflow_client.get_trace(trace_id)

    assert_same_trace(remote, local)
    assert remote.info.state.value == "OK"  # the tool failed, the agent did not
    assert remote.info.token_usage == USAGE
    assert remote.info.tags["env"] == "staging"
    assert remote.info.tags["mlflow.traceName"] == "agent"
    assert remote.info.trace_metadata["app.version"] == "1.2.3"
    assert remote.info.request_preview == '{"question": "What is 2+2?"}'
    assert remote.info.response_preview == '{"answer": "4"}'
    (tool,) = remote.search_spans(span_type="TOOL")
    assert tool.status.status_code.value == "ERROR"
    assert tool.events[0].attributes["exception.type"] == "ValueError"
    (retriever,) = remote.search_spans(span_type="RETRIEVER")
    assert retriever.outputs == [{"page_content": "2+2=4", "metadata": {"score": 0.9}, "id": "d1"}]
    assert to_server.dropped_traces == to_server.incomplete_traces == 0


def test_request_id_session_user_and_error_state_read_back(
    to_server: Any, mlflow_client: Any
) -> None:
    @tracewire.trace(span_type=SpanType.CHAIN)
    def answer(question: str) -> str:
        with tracewire.start_span("llm", span_type=SpanType.CHAT_MODEL) as span:
            span.set_inputs({"messages": [{"role": "user", "content": question}]})
            span.set_attribute(SpanAttributeKey.CHAT_USAGE, {"input_tokens": 5, "output_tokens": 1})
        tracewire.update_current_trace(
            client_request_id="req-42", session_id="sess-7", user="alice", tags={"team": "search"}
        )
        raise RuntimeError("the answer got lost")

    with pytest.raises(RuntimeError):
        answer("Where is my answer?")
    trace_id = tracewire.get_last_active_trace_id()
    assert tracewire.flush(60)
    local = tracewire.get_trace(trace_id or "")
    assert local is not None

    remote = mlflow_client.get_trace(trace_id)

    assert_same_trace(remote, local)
    assert remote.info.state.value == "ERROR"
    assert remote.info.client_request_id == "req-42"
    assert remote.info.trace_metadata["mlflow.trace.session"] == "sess-7"
    assert remote.info.trace_metadata["mlflow.trace.user"] == "alice"
    assert remote.info.tags["team"] == "search"
    assert remote.info.token_usage == {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}
    root = remote.data.spans[0] if remote.data.spans[0].parent_id is None else remote.data.spans[1]
    assert root.events[0].attributes["exception.message"] == "the answer got lost"


def test_mlflow_search_finds_exported_traces_by_span_type_tag_and_status(
    to_server: Any, mlflow_client: Any
) -> None:
    experiment_id = to_server.experiment_id_for(unique("interop-search"))
    found = agent_trace(experiment_id)
    with tracewire.start_span("other", span_type=SpanType.CHAIN):
        pass
    assert tracewire.flush(60)

    def search(filter_string: str) -> list[str]:
        # `locations` replaced `experiment_ids` in MLflow 3.x; use what this version takes.
        takes_locations = "locations" in inspect.signature(mlflow_client.search_traces).parameters
        where = {"locations" if takes_locations else "experiment_ids": [experiment_id]}
        traces = mlflow_client.search_traces(
            **where, filter_string=filter_string, return_type="list"
        )
        return [trace.info.trace_id for trace in traces]

    # span.type needs a plain (not JSON-quoted) mlflow.spanType on the wire.
    assert search("span.type = 'CHAT_MODEL'") == [found]
    assert search("tag.env = 'staging'") == [found]
    assert search("trace.status = 'OK'") == [found]
    assert search("metadata.`app.version` = '1.2.3'") == [found]


def test_destination_reads_searches_and_deletes_on_the_server(to_server: Any) -> None:
    experiment_id = to_server.experiment_id_for(unique("interop-reads"))
    first = agent_trace(experiment_id)
    time.sleep(0.01)  # request times are milliseconds: keep the order unambiguous
    second = agent_trace(experiment_id)
    in_default = agent_trace("0")  # the same batch, another experiment
    assert tracewire.flush(60)

    read = to_server.get_trace(first)
    local = tracewire.get_trace(first)
    assert read is not None
    assert local is not None
    assert read.info.token_usage == local.info.token_usage == USAGE
    assert read.info.tags["env"] == "staging"
    assert read.info.trace_metadata["app.version"] == "1.2.3"
    assert [span.name for span in read.data.spans] == [span.name for span in local.data.spans]
    assert [span.inputs for span in read.data.spans] == [span.inputs for span in local.data.spans]
    assert [span.outputs for span in read.data.spans] == [span.outputs for span in local.data.spans]
    assert to_server.get_trace("tr-" + "0" * 32) is None

    newest_first = to_server.search_traces(query(experiment_ids=[experiment_id]))
    assert [trace.trace_id for trace in newest_first] == [second, first]
    oldest = to_server.search_traces(
        query(experiment_ids=[experiment_id], order_by=["timestamp_ms ASC"], max_results=1)
    )
    assert [trace.trace_id for trace in oldest] == [first]
    filtered = to_server.search_traces(
        query(experiment_ids=["0"], filter_string="span.type = 'TOOL' AND tag.env = 'staging'")
    )
    assert in_default in [trace.trace_id for trace in filtered]
    everywhere = to_server.search_traces(query(filter_string="tag.env = 'staging'"))
    assert {first, second, in_default} <= {trace.trace_id for trace in everywhere}
    assert to_server.search_traces(query(experiment_ids=[])) == []
    with pytest.raises(ValueError, match="filter"):
        to_server.search_traces(query(filter_string="no such thing ="))

    assert to_server.delete_traces([first, "tr-" + "1" * 32]) == 1
    assert to_server.get_trace(first) is None
    listed = [trace.trace_id for trace in to_server.list_traces()]  # every experiment
    assert second in listed
    assert in_default in listed
    assert first not in listed


def test_experiment_id_for_resolves_creates_and_refuses(to_server: Any, mlflow_client: Any) -> None:
    ours, theirs_name = unique("interop-experiments"), unique("made-by-mlflow")
    created = to_server.experiment_id_for(ours)

    assert created.isdigit()
    assert to_server.experiment_id_for(ours, create=False) == created
    assert mlflow_client.get_experiment_by_name(ours).experiment_id == created
    theirs = mlflow_client.create_experiment(theirs_name)
    assert to_server.experiment_id_for(theirs_name, create=False) == theirs
    with pytest.raises(KeyError, match="no experiment named"):
        to_server.experiment_id_for(unique("never-created"), create=False)
    mlflow_client.delete_experiment(theirs)
    from tracewire._mlflow_server import MlflowServerDestination

    fresh = MlflowServerDestination(to_server.uri)  # no cached id
    with pytest.raises(ValueError, match="deleted"):
        fresh.experiment_id_for(theirs_name)


def test_unknown_experiment_drops_with_the_servers_reason(
    to_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    agent_trace("987654")
    assert tracewire.flush(60)

    assert to_server.dropped_traces == tracewire._export.EXPORTER.dropped == 1
    assert "experiment 987654" in caplog.text

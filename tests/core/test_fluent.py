"""start_span, start_span_no_context, accessors, update_current_trace, get_trace, search_traces."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import tracewire
from tracewire.entities import SpanStatusCode, TraceState

LastTrace = Callable[[], tracewire.Trace]


def test_start_span_nests_and_restores_the_active_span(last_trace: LastTrace) -> None:
    """Nested ``start_span`` blocks form a tree; the active span is restored on exit."""
    with tracewire.start_span("outer") as outer:
        assert tracewire.get_current_active_span() is outer
        with tracewire.start_span("inner") as inner:
            assert tracewire.get_current_active_span() is inner
            assert inner.parent_id == outer.span_id
            assert inner.trace_id == outer.trace_id
            assert tracewire.get_active_trace_id() == outer.trace_id
        assert tracewire.get_current_active_span() is outer
    assert tracewire.get_current_active_span() is None
    assert [s.name for s in last_trace().data.spans] == ["outer", "inner"]


def test_start_span_records_exception_and_reraises(last_trace: LastTrace) -> None:
    """An exception in the block marks the span ERROR and propagates."""
    with pytest.raises(ZeroDivisionError), tracewire.start_span("calc"):
        _ = 1 / 0
    trace = last_trace()
    assert trace.info.state == TraceState.ERROR
    assert trace.data.spans[0].events[0].name == "exception"


def test_start_span_no_context_is_not_active_and_nests_under_active(
    last_trace: LastTrace,
) -> None:
    """A detached span takes the active span as parent but does not become active."""
    with tracewire.start_span("root") as root:
        detached = tracewire.start_span_no_context("callback", inputs={"x": 1})
        assert tracewire.get_current_active_span() is root
        assert detached.parent_id == root.span_id
        detached.end(outputs="done")
    spans = last_trace().data.spans
    assert spans[1].inputs == {"x": 1}
    assert spans[1].outputs == "done"


def test_start_span_no_context_with_explicit_parent_tags_and_metadata(
    last_trace: LastTrace,
) -> None:
    """``parent_span``, ``tags`` and ``metadata`` are honoured."""
    root = tracewire.start_span_no_context("root", tags={"env": "test"}, metadata={"m": "1"})
    child = tracewire.start_span_no_context("child", parent_span=root)
    child.end()
    root.end()
    trace = last_trace()
    assert trace.data.spans[1].parent_id == trace.data.spans[0].span_id
    assert trace.info.tags["env"] == "test"
    assert trace.info.trace_metadata["m"] == "1"


def test_span_ending_after_its_root_is_reported_not_exported(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """A child that outlives its root is dropped with a warning; the trace keeps the rest."""
    root = tracewire.start_span_no_context("root")
    late = tracewire.start_span_no_context("late", parent_span=root)
    root.end()
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        late.end()
    assert [s.name for s in last_trace().data.spans] == ["root"]
    assert "after its trace" in caplog.text


def test_span_started_after_its_root_ended_is_not_exported(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    root = tracewire.start_span_no_context("root")
    root.end()
    with caplog.at_level(logging.DEBUG, logger="tracewire"):  # warned once per process
        late = tracewire.start_span_no_context("late", parent_span=root)
        late.end()
    assert [s.name for s in last_trace().data.spans] == ["root"]
    assert "after its trace" in caplog.text


def test_update_current_trace_sets_tags_metadata_and_ids(last_trace: LastTrace) -> None:
    """Tags, metadata, client request id, previews, session and user reach the trace info."""
    with tracewire.start_span("s"):
        tracewire.update_current_trace(
            tags={"tier": "gold"},
            metadata={"run": "7"},
            client_request_id="req-1",
            request_preview="custom in",
            response_preview="custom out",
            session_id="sess",
            user="ann",
            model_id="m-1",
        )
    info = last_trace().info
    assert info.tags["tier"] == "gold"
    assert info.tags["mlflow.traceName"] == "s"
    assert info.trace_metadata["run"] == "7"
    assert info.trace_metadata["mlflow.trace.session"] == "sess"
    assert info.trace_metadata["mlflow.trace.user"] == "ann"
    assert info.trace_metadata["mlflow.modelId"] == "m-1"
    assert info.client_request_id == "req-1"
    assert (info.request_preview, info.response_preview) == ("custom in", "custom out")


def test_update_current_trace_state_overrides_root_status(last_trace: LastTrace) -> None:
    """``state="ERROR"`` marks the trace failed even when the root span is OK."""
    with tracewire.start_span("s"):
        tracewire.update_current_trace(state="ERROR")
    trace = last_trace()
    assert trace.info.state == TraceState.ERROR
    assert trace.data.spans[0].status.status_code == SpanStatusCode.OK


def test_update_current_trace_stringifies_non_string_tags(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """Non-string tag values are stored as strings with a warning."""
    with caplog.at_level(logging.WARNING, logger="tracewire"), tracewire.start_span("s"):
        tracewire.update_current_trace(tags={"n": 3})
    assert last_trace().info.tags["n"] == "3"
    assert "non-string" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"request_preview": 3}, TypeError),
        ({"response_preview": ["x"]}, TypeError),
        ({"state": "IN_PROGRESS"}, ValueError),
    ],
)
def test_update_current_trace_rejects_bad_values(kwargs: dict[str, object], error: type) -> None:
    """Bad previews or states are clear errors, and the trace is left as it was."""
    with tracewire.start_span("s"), pytest.raises(error):
        tracewire.update_current_trace(**kwargs)  # type: ignore[arg-type]


def test_update_current_trace_outside_a_span_warns(caplog: pytest.LogCaptureFixture) -> None:
    """Outside any span the call warns and changes nothing."""
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        tracewire.update_current_trace(tags={"a": "b"})
    assert "outside any span" in caplog.text


def test_last_active_trace_id_global_and_thread_local() -> None:
    """The last trace id is tracked process-wide and per context."""
    import threading

    with tracewire.start_span("main") as main_span:
        pass
    seen: list[str | None] = []

    def worker() -> None:
        seen.append(tracewire.get_last_active_trace_id(thread_local=True))
        with tracewire.start_span("worker"):
            pass
        seen.append(tracewire.get_last_active_trace_id(thread_local=True))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen[0] is None
    assert seen[1] is not None
    assert seen[1] != main_span.trace_id
    assert tracewire.get_last_active_trace_id(thread_local=True) == main_span.trace_id
    assert tracewire.get_last_active_trace_id() == seen[1]


def test_get_trace_unknown_id_returns_none() -> None:
    """An unknown id gives ``None``, not an exception."""
    assert tracewire.get_trace("tr-" + "0" * 32) is None


def _make_traces(count: int) -> list[str]:
    ids = []
    for index in range(count):
        span = tracewire.start_span_no_context(f"t{index}", start_time_ns=(index + 1) * 10**9)
        span.end(end_time_ns=(index + 1) * 10**9 + index * 10**6)
        ids.append(span.trace_id)
    return ids


def test_search_traces_newest_first_with_max_results() -> None:
    """Results are newest first by default and capped by ``max_results``."""
    ids = _make_traces(3)
    found = tracewire.search_traces(max_results=2, return_type="list")
    assert [t.trace_id for t in found] == [ids[2], ids[1]]


def test_search_traces_order_by_clauses() -> None:
    """``order_by`` sorts by timestamp or duration, ascending or descending."""
    ids = _make_traces(3)
    ascending = tracewire.search_traces(order_by=["timestamp_ms ASC"], return_type="list")
    assert [t.trace_id for t in ascending] == ids
    slowest = tracewire.search_traces(order_by=["execution_time_ms DESC"], return_type="list")
    assert slowest[0].trace_id == ids[2]


def test_search_traces_filters_by_experiment() -> None:
    """``experiment_ids`` keeps only traces of those experiments."""
    tracewire.start_span_no_context("a", experiment_id="5").end()
    tracewire.start_span_no_context("b").end()
    found = tracewire.search_traces(experiment_ids=["5"], return_type="list")
    assert [t.info.experiment_id for t in found] == ["5"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"order_by": ["nonsense DESC"]},
        {"order_by": ["timestamp_ms SIDEWAYS"]},
        {"max_results": 0},
        {"return_type": "csv"},
        {"filter_string": "tags.a 'b'"},
    ],
)
def test_search_traces_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    """Bad arguments are clear ValueErrors."""
    with pytest.raises(ValueError):
        tracewire.search_traces(**kwargs)  # type: ignore[arg-type]


def test_search_traces_pandas_return_type() -> None:
    """``return_type="pandas"`` gives MLflow's columns."""
    pd = pytest.importorskip("pandas")
    _make_traces(2)
    frame = tracewire.search_traces(return_type="pandas")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns)[:4] == ["trace_id", "trace", "client_request_id", "state"]
    assert len(frame) == 2

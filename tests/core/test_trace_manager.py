"""Traces in progress: a root span stands for its trace until a second span needs the record."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable

import pytest

import tracewire
from tracewire import _trace_manager
from tracewire._span import LiveSpan
from tracewire._status import SpanStatusCode, TraceState

LastTrace = Callable[[], tracewire.Trace]


def _live(span: object) -> LiveSpan:
    assert isinstance(span, LiveSpan)
    return span


def test_a_lone_root_span_is_exported_without_a_trace_record(last_trace: LastTrace) -> None:
    root = _live(tracewire.start_span_no_context("alone", inputs={"q": 1}))
    assert _trace_manager.in_progress_count() == 1
    root.end(outputs="a")
    assert root._trace is None
    assert _trace_manager.in_progress_count() == 0
    assert tracewire.get_last_active_trace_id() == root.trace_id
    assert tracewire.get_last_active_trace_id(thread_local=True) == root.trace_id
    trace = last_trace()
    assert trace.trace_id == root.trace_id
    assert [(s.name, s.inputs, s.outputs) for s in trace.data.spans] == [("alone", {"q": 1}, "a")]
    assert trace.info.state == TraceState.OK


def test_a_child_span_gives_its_root_the_trace_record(last_trace: LastTrace) -> None:
    with tracewire.start_span("root") as root:
        assert _live(root)._trace is None
        with tracewire.start_span("child") as child:
            assert _live(root)._trace is _live(child)._trace is not None
        assert _trace_manager.in_progress_count() == 1
    assert [s.name for s in last_trace().data.spans] == ["root", "child"]
    assert _trace_manager.in_progress_count() == 0


def test_update_current_trace_in_a_lone_root_reaches_the_trace(last_trace: LastTrace) -> None:
    with tracewire.start_span("root"):
        tracewire.update_current_trace(tags={"env": "test"}, client_request_id="req-1")
    info = last_trace().info
    assert info.tags["env"] == "test"
    assert info.client_request_id == "req-1"


def test_children_started_on_two_threads_at_once_join_one_trace(last_trace: LastTrace) -> None:
    """Two threads making a detached root's record at the same time make one."""
    for _ in range(20):
        barrier = threading.Barrier(2)

        def child(index: int, barrier: threading.Barrier = barrier) -> None:
            barrier.wait(5)
            with tracewire.start_span(f"child{index}"):
                pass

        with tracewire.start_span("root"):
            threads = [
                threading.Thread(target=contextvars.copy_context().run, args=(child, index))
                for index in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(5)
        assert sorted(s.name for s in last_trace().data.spans) == ["child0", "child1", "root"]


def _claim(root: LiveSpan) -> None:
    """What trace_of does first, on another thread: take the root out of the traces in progress."""
    assert _trace_manager._in_progress.pop(root.trace_id) is root


def _give_record(root: LiveSpan) -> None:
    """What trace_of does next: make the claimed root's record, register it, then give it."""
    _trace_manager._attach(root, closed=False)


def test_a_root_ending_while_its_record_is_made_finishes_that_record(
    last_trace: LastTrace,
) -> None:
    """The root's end waits for a record another thread has claimed, and finishes with it."""
    root = _live(tracewire.start_span_no_context("root"))
    _claim(root)
    ended = threading.Thread(target=root.end)
    ended.start()
    ended.join(0.2)
    assert ended.is_alive()  # waiting for the record
    _give_record(root)
    tracewire.start_span_no_context("child", parent_span=root).end()
    ended.join(5)
    assert [s.name for s in last_trace().data.spans] == ["root", "child"]
    assert _trace_manager.in_progress_count() == 0


def test_a_root_ending_while_it_is_evicted_is_exported_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The evicted record is closed before the waiting end sees it: the end is late."""
    finished: list[object] = []
    monkeypatch.setattr(_trace_manager, "_sink", finished.append)
    root = _live(tracewire.start_span_no_context("root"))
    _claim(root)  # the eviction's claim
    ended = threading.Thread(target=root.end)
    ended.start()
    ended.join(0.2)
    assert ended.is_alive()  # waiting for the record
    record = _trace_manager._claimed_record(root)
    ended.join(5)  # the end acts on the record before the eviction goes on
    assert not ended.is_alive()
    _trace_manager._evict(record, "a test evicted it")
    assert finished == [record]
    assert record.state == TraceState.ERROR


def test_a_child_started_while_its_roots_record_is_made_joins_that_record(
    last_trace: LastTrace,
) -> None:
    root = _live(tracewire.start_span_no_context("root"))
    _claim(root)
    children: list[LiveSpan] = []
    started = threading.Thread(
        target=lambda: children.append(
            _live(tracewire.start_span_no_context("child", parent_span=root))
        )
    )
    started.start()
    started.join(0.2)
    assert started.is_alive()  # waiting for the record
    _give_record(root)
    started.join(5)
    children[0].end()
    root.end()
    assert [s.name for s in last_trace().data.spans] == ["root", "child"]


def test_a_child_of_a_root_that_ended_alone_is_late(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    root = _live(tracewire.start_span_no_context("root"))
    root.end()
    with caplog.at_level(logging.DEBUG, logger="tracewire"):  # warned once per process
        tracewire.start_span_no_context("late", parent_span=root).end()
    assert [s.name for s in last_trace().data.spans] == ["root"]
    assert "after its trace" in caplog.text
    assert _trace_manager.in_progress_count() == 0


def test_a_root_forgotten_by_clear_in_progress_is_not_exported() -> None:
    root = tracewire.start_span_no_context("root")
    _trace_manager.clear_in_progress()
    root.end()
    tracewire.flush()
    assert tracewire.get_trace(root.trace_id) is None


def test_a_lone_root_evicted_as_stale_is_exported_as_an_error(last_trace: LastTrace) -> None:
    stale = _live(tracewire.start_span_no_context("stale"))
    _trace_manager._evict_stale(stale.start_time_ns + 10**18)
    tracewire.flush()
    trace = tracewire.get_trace(stale.trace_id)
    assert trace is not None
    assert trace.info.state == TraceState.ERROR
    assert trace.data.spans[0].status.status_code == SpanStatusCode.ERROR
    stale.end()  # after its eviction: late, not exported twice
    assert _trace_manager.in_progress_count() == 0

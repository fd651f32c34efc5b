"""The background exporter: bounded queue, flush, failing destinations, exit flush."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import tracewire
from tracewire._destinations import MemoryDestination, TraceDestination
from tracewire._export import _BATCH_SIZE, _GATHER_S, EXPORTER, Exporter, set_destination
from tracewire.entities import Trace


class _GatedDestination(MemoryDestination):
    """Blocks ``export`` until released, to fill the queue deterministically."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def export(self, traces: Sequence[Trace]) -> None:
        self.entered.set()
        self.release.wait(10)
        super().export(traces)


class _FailingDestination(TraceDestination):
    def export(self, traces: Sequence[Trace]) -> None:
        raise ConnectionError("backend down")

    def get_trace(self, trace_id: str) -> Trace | None:
        return None

    def list_traces(self) -> list[Trace]:
        return []

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        return 0


def _one_trace(name: str = "t") -> str:
    with tracewire.start_span(name) as span:
        pass
    return span.trace_id


def test_flush_makes_finished_traces_readable() -> None:
    """After ``flush()`` every finished trace is in the destination."""
    ids = [_one_trace() for _ in range(50)]
    assert tracewire.flush(timeout=10)
    assert all(EXPORTER.destination.get_trace(i) is not None for i in ids)


def _exported_soon(trace_id: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if EXPORTER.destination.get_trace(trace_id) is not None:
            return True
        time.sleep(0.005)
    return False


def test_traces_reach_the_destination_without_flush_during_and_after_a_burst() -> None:
    """The thread polls while traces keep coming and is woken again once it went idle."""
    burst = [_one_trace() for _ in range(20)]
    assert _exported_soon(burst[-1], within_s=_GATHER_S + 0.5)
    time.sleep(2 * _GATHER_S + 0.1)  # long enough for the thread to find nothing and go idle
    later = _one_trace()
    assert _exported_soon(later, within_s=_GATHER_S + 0.5)


def test_a_full_batch_is_exported_without_waiting_out_the_gathering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst that fills a batch is exported at once, not when the gathering interval ends."""
    monkeypatch.setattr("tracewire._export._GATHER_S", 60.0)
    _one_trace()  # the thread wakes up and starts gathering, for a minute
    burst = [_one_trace() for _ in range(_BATCH_SIZE - 1)]
    assert _exported_soon(burst[-1], within_s=5)
    monkeypatch.undo()
    tracewire.flush()  # cuts the minute short, so that the thread gathers for _GATHER_S again


def test_full_queue_drops_counts_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the queue is full, new traces are dropped and counted, never blocking the caller."""
    gated = _GatedDestination()
    set_destination(gated)
    monkeypatch.setattr(EXPORTER, "max_queue_size", 3)
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        _one_trace()
        assert gated.entered.wait(5)  # the export thread is now stuck in export()
        for _ in range(6):
            _one_trace()
    assert EXPORTER.dropped == 3
    assert caplog.text.count("export queue is full") == 1
    gated.release.set()
    tracewire.flush(timeout=10)
    assert len(gated.list_traces()) == 4


def test_failing_destination_counts_drops_and_keeps_running(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A destination that raises loses that batch (counted, logged); later traces still flow."""
    monkeypatch.setenv("TRACEWIRE_STRICT", "0")
    set_destination(_FailingDestination())
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        _one_trace()
        assert tracewire.flush(timeout=10)
    assert EXPORTER.dropped == 1
    assert "backend down" in caplog.text
    memory = MemoryDestination()
    set_destination(memory)
    trace_id = _one_trace()
    tracewire.flush(timeout=10)
    assert memory.get_trace(trace_id) is not None


def test_export_errors_surface_on_flush_in_strict_mode() -> None:
    """Under TRACEWIRE_STRICT=1 an export-thread error is raised by the next ``flush()``."""
    set_destination(_FailingDestination())
    _one_trace()
    with pytest.raises(ConnectionError, match="backend down"):
        tracewire.flush(timeout=10)


def test_flush_without_a_thread_drains_inline() -> None:
    """A fresh exporter whose thread never started drains on flush."""
    exporter = Exporter(MemoryDestination())
    assert exporter.flush(timeout=1)


def test_memory_destination_keeps_only_the_newest_traces() -> None:
    """The in-memory destination is bounded: the oldest traces go first."""
    memory = MemoryDestination(max_traces=2)
    set_destination(memory)
    ids = [_one_trace() for _ in range(3)]
    tracewire.flush()
    assert [t.trace_id for t in memory.list_traces()] == [ids[2], ids[1]]
    assert memory.delete_traces([ids[2], "tr-missing"]) == 1


def test_memory_destination_rejects_a_zero_bound() -> None:
    """A non-positive bound is a clear error."""
    with pytest.raises(ValueError, match="at least 1"):
        MemoryDestination(max_traces=0)


def _run_program_exporting_to_file(body: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter whose destination appends trace dicts to ``out``."""
    prelude = f"""
import gc
import json
import tracewire
from tracewire._destinations import MemoryDestination
from tracewire._export import set_destination

class FileDestination(MemoryDestination):
    def export(self, traces):
        with open({str(out)!r}, "a") as f:
            for trace in traces:
                f.write(json.dumps(trace.to_dict()) + "\\n")

set_destination(FileDestination())
"""
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(body)],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )


def test_pending_traces_are_exported_at_interpreter_exit(tmp_path: Path) -> None:
    """Traces still queued when the program ends are exported by the exit flush."""
    out = tmp_path / "exported.jsonl"
    _run_program_exporting_to_file(
        """
        for _ in range(200):
            with tracewire.start_span("s"):
                pass
        """,
        out,
    )
    assert len(out.read_text().splitlines()) == 200


def test_traces_a_slow_destination_cannot_take_before_exit_are_counted_as_dropped() -> None:
    """The exit flush waits its timeout; what is still unsent is counted and reported once."""
    program = textwrap.dedent(
        """
        import atexit, time
        atexit.register(lambda: print("dropped", EXPORTER.dropped, "exported", EXPORTER.exported))
        import tracewire
        from tracewire._destinations import MemoryDestination
        from tracewire._export import EXPORTER, set_destination

        class SlowDestination(MemoryDestination):
            def export(self, traces):
                time.sleep(5)  # longer than the exit flush may wait

        set_destination(SlowDestination())
        for _ in range(300):  # more than one batch: some are sending, the rest queued
            with tracewire.start_span("s"):
                pass
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
        env={**os.environ, "TRACEWIRE_EXIT_FLUSH_TIMEOUT": "0.5", "TRACEWIRE_STRICT": "0"},
    )
    assert result.stdout.split() == ["dropped", "300", "exported", "0"]
    assert result.stderr.count("300 traces were not exported within 0.5s of exit") == 1


def test_traces_unfinished_at_exit_are_exported_as_errors(tmp_path: Path) -> None:
    """A trace whose root is still open when the program exits is exported, marked ERROR."""
    out = tmp_path / "exported.jsonl"
    result = _run_program_exporting_to_file(
        """
        root = tracewire.start_span_no_context("server-loop")
        child = tracewire.start_span_no_context("handled", parent_span=root)
        child.end(outputs="ok")
        """,
        out,
    )
    (line,) = out.read_text().splitlines()
    trace = json.loads(line)
    assert trace["info"]["state"] == "ERROR"
    statuses = {s["name"]: s["status"]["code"] for s in trace["data"]["spans"]}
    assert statuses == {"server-loop": "STATUS_CODE_ERROR", "handled": "STATUS_CODE_OK"}
    assert "program exited first" in result.stderr


def test_a_lone_root_span_unfinished_at_exit_is_exported_as_an_error(tmp_path: Path) -> None:
    """A root span that no other span joined (its trace has no record yet) is exported too."""
    out = tmp_path / "exported.jsonl"
    result = _run_program_exporting_to_file(
        'open_call = tracewire.start_span_no_context("call")\n', out
    )
    (line,) = out.read_text().splitlines()
    trace = json.loads(line)
    assert trace["info"]["state"] == "ERROR"
    assert [s["status"]["code"] for s in trace["data"]["spans"]] == ["STATUS_CODE_ERROR"]
    assert "program exited first" in result.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
# Python 3.12+ warns about fork() with threads running (our export thread); that is the scenario.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_traces_and_reads_its_own_traces() -> None:
    """After fork, the child gets a fresh export thread and can record and read traces."""
    _one_trace("parent")
    tracewire.flush()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 1
        try:
            trace_id = _one_trace("child")
            found = tracewire.get_trace(trace_id)
            code = 0 if found is not None and found.data.spans[0].name == "child" else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    status = os.read(read, 1)
    os.waitpid(pid, 0)
    assert status == b"\x00"


def test_an_exported_trace_is_freed_without_the_garbage_collector() -> None:
    """A finished trace holds no reference cycle: extra garbage would make GC run in the caller."""
    gc.collect()
    gc.disable()
    try:
        with tracewire.start_span("root") as root, tracewire.start_span("child"):
            pass
        record = weakref.ref(root._trace)
        del root
        assert tracewire.flush(timeout=10)
        assert record() is None
    finally:
        gc.enable()


@pytest.fixture
def full_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An export queue of one trace, full while its export thread is stuck in ``export()``."""
    gated = _GatedDestination()
    set_destination(gated)
    monkeypatch.setattr(EXPORTER, "max_queue_size", 1)
    _one_trace()
    assert gated.entered.wait(5)
    _one_trace()
    gc.collect()
    try:
        yield
    finally:
        gated.release.set()
    assert tracewire.flush(timeout=10)


@pytest.mark.usefixtures("full_queue")
def test_a_lone_root_dropped_from_a_full_queue_leaves_no_garbage() -> None:
    gc.disable()
    try:
        with tracewire.start_span("dropped"):
            pass
        assert EXPORTER.dropped == 1
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.usefixtures("full_queue")
def test_a_trace_dropped_from_a_full_queue_is_freed_without_the_garbage_collector() -> None:
    gc.disable()
    try:
        with tracewire.start_span("dropped") as dropped, tracewire.start_span("child"):
            pass
        record = weakref.ref(dropped._trace)
        del dropped
        assert record() is None
    finally:
        gc.enable()

"""tracewire.tracing.suppress(): context-local, leaves other threads and tasks tracing."""

from __future__ import annotations

import asyncio
import importlib
import threading
from typing import Any

import pytest

import tracewire
from tracewire.testing import assert_span_tree, capture_traces


@tracewire.trace
def traced_step(value: int) -> int:
    return value + 1


def test_nothing_is_recorded_inside_the_block() -> None:
    """Decorated functions and start_span record nothing while suppressed."""
    with capture_traces() as traces:
        with tracewire.tracing.suppress():
            traced_step(1)
            with tracewire.start_span("manual"):
                pass
        traced_step(2)
    assert len(traces) == 1
    assert traces[0].data.spans[0].inputs == {"value": 2}


def test_suppression_inside_a_span_hides_only_the_block() -> None:
    """Within a span, the suppressed block adds no children and the span continues afterwards."""
    with capture_traces() as traces, tracewire.start_span("outer"):
        with tracewire.tracing.suppress():
            traced_step(1)
        traced_step(2)
    assert_span_tree(
        traces[0],
        """
        outer (UNKNOWN)
          traced_step (UNKNOWN)
        """,
    )


def test_global_state_is_untouched() -> None:
    """suppress() does not flip tracewire.tracing.is_enabled()."""
    with tracewire.tracing.suppress():
        assert tracewire.tracing.is_enabled()


def test_explicit_live_parent_still_records() -> None:
    """A span started with an explicit live parent_span is recorded even inside the block."""
    with capture_traces() as traces:
        root = tracewire.start_span_no_context("root")
        with tracewire.tracing.suppress():
            tracewire.start_span_no_context("child", parent_span=root).end()
        root.end()
    assert_span_tree(
        traces[0],
        """
        root (UNKNOWN)
          child (UNKNOWN)
        """,
    )


def test_nested_blocks_restore_the_previous_state() -> None:
    """Leaving an inner block keeps the outer suppression; leaving the outer one ends it."""
    with capture_traces() as traces:
        with tracewire.tracing.suppress():
            with tracewire.tracing.suppress():
                traced_step(1)
            traced_step(2)
        traced_step(3)
    assert [t.data.spans[0].inputs for t in traces] == [{"value": 3}]


def test_one_block_cannot_be_entered_twice() -> None:
    """Re-entering the same suppress() object is refused instead of corrupting the context."""
    block = tracewire.tracing.suppress()
    with block, pytest.raises(RuntimeError, match="already active"), block:
        pass


def test_other_threads_keep_tracing_while_one_is_suppressed() -> None:
    """A thread inside suppress() does not stop a concurrent thread from recording."""
    inside = threading.Barrier(2)
    done = threading.Barrier(2)

    def suppressed_worker() -> None:
        with tracewire.tracing.suppress():
            inside.wait(timeout=10)
            traced_step(100)
            done.wait(timeout=10)

    def tracing_worker() -> None:
        inside.wait(timeout=10)
        traced_step(200)
        done.wait(timeout=10)

    with capture_traces() as traces:
        threads = [
            threading.Thread(target=suppressed_worker),
            threading.Thread(target=tracing_worker),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert [t.data.spans[0].inputs for t in traces] == [{"value": 200}]


@pytest.mark.asyncio
async def test_other_asyncio_tasks_keep_tracing_while_one_is_suppressed() -> None:
    """Suppression in one task leaves a concurrently running task recording."""
    both_running = asyncio.Event()
    suppressed_entered = asyncio.Event()

    @tracewire.trace
    async def step(value: int) -> int:
        await asyncio.sleep(0)
        return value

    async def suppressed_task() -> None:
        with tracewire.tracing.suppress():
            suppressed_entered.set()
            await both_running.wait()
            await step(100)

    async def tracing_task() -> None:
        await suppressed_entered.wait()
        both_running.set()
        await step(200)

    with capture_traces() as traces:
        await asyncio.gather(suppressed_task(), tracing_task())
    assert [t.data.spans[0].inputs for t in traces] == [{"value": 200}]


def test_autologged_sdk_calls_are_suppressed(toy: Any) -> None:
    """Integration wrappers run the original directly inside the block."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog()
    with capture_traces() as traces:
        with tracewire.tracing.suppress():
            assert toy_sdk.Client().complete("quiet") == {"text": "QUIET"}
        toy_sdk.Client().complete("loud")
    assert [t.data.spans[0].inputs for t in traces] == [["loud"]]

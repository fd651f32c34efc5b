"""Context propagation across asyncio tasks and threads."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

import tracewire

LastTrace = Callable[[], tracewire.Trace]


@tracewire.trace
def _work(i: int) -> int:
    return i


@pytest.mark.asyncio
async def test_asyncio_tasks_nest_under_the_span_that_created_them(last_trace: LastTrace) -> None:
    """Spans in concurrently running tasks nest under the parent, never under each other."""

    @tracewire.trace
    async def step(i: int) -> int:
        await asyncio.sleep(0.001 * (3 - i))
        return _work(i)

    with tracewire.start_span("fan-out") as root:
        results = await asyncio.gather(*(step(i) for i in range(3)))
    assert results == [0, 1, 2]
    spans = last_trace().data.spans
    by_id = {s.span_id: s for s in spans}
    steps = [s for s in spans if s.name == "step"]
    assert {s.parent_id for s in steps} == {root.span_id}
    for work in (s for s in spans if s.name == "_work"):
        parent = by_id[work.parent_id or ""]
        assert parent.name == "step"
        assert parent.inputs == {"i": work.inputs["i"]}


def test_threads_with_copy_context_join_the_callers_trace(last_trace: LastTrace) -> None:
    """Work submitted through ``copy_context().run`` nests under the submitting span."""
    with tracewire.start_span("batch") as root, ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(contextvars.copy_context().run, _work, i) for i in range(4)]
        assert [f.result() for f in futures] == [0, 1, 2, 3]
    spans = last_trace().data.spans
    assert len(spans) == 5
    assert all(s.parent_id == root.span_id for s in spans[1:])


def test_threads_without_copy_context_start_their_own_traces() -> None:
    """Without ``copy_context`` a worker thread has no active span and starts a new trace."""
    with tracewire.start_span("batch") as root, ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_work, 1).result()
    worker_trace_ids = {
        t.trace_id
        for t in tracewire.search_traces(return_type="list")
        if t.trace_id != root.trace_id
    }
    assert len(worker_trace_ids) == 1

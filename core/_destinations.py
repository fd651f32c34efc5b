"""Where finished traces go. The export thread calls ``export``; readers call the rest."""

from __future__ import annotations

import os
from _thread import allocate_lock

from tracewire._constants import DEFAULT_EXPERIMENT_ID
from tracewire._merge import merge_traces
from tracewire._trace import Trace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracewire._search import TraceQuery

DEFAULT_EXPERIMENT_NAME = "Default"


class TracesDropped(Exception):
    """Raised by :meth:`TraceDestination.export` when it had to give up on some traces.

    The destination has already retried and logged its one warning; the exporter adds ``count`` to
    its ``dropped`` counter, counts the rest of the batch as exported, and reports nothing more.

    Args:
        count: How many traces of the batch were lost.
    """

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} traces dropped")
        self.count = count


class TraceDestination:
    """Interface of a trace store or exporter.

    ``export`` runs on the background export thread only; the read methods may run on any thread, so
    implementations guard their state.
    """

    def export(self, traces: Sequence[Trace]) -> None:
        """Store or send a batch of finished traces.

        Raises:
            TracesDropped: Some traces were lost for good (a network destination gave up).
        """
        raise NotImplementedError

    def get_trace(self, trace_id: str) -> Trace | None:
        """Return the trace with this id, or ``None``."""
        raise NotImplementedError

    def list_traces(self) -> list[Trace]:
        """Return every readable trace, newest first."""
        raise NotImplementedError

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete traces by id; return how many were deleted."""
        raise NotImplementedError

    def search_traces(self, query: TraceQuery) -> list[Trace]:
        """Return the traces matching ``query``, in its order, at most ``query.max_results``.

        This default filters :meth:`list_traces` in Python; stores with an index override it, and a
        server destination may forward ``query.filter_string`` as is.
        """
        return query.apply(self.list_traces())

    def experiment_id_for(self, name: str, create: bool = True) -> str:
        """Return the id of the experiment called ``name``, creating it if asked to.

        Args:
            name: The experiment name (``"Default"`` is experiment ``"0"``).
            create: Create the experiment when it does not exist yet.

        Raises:
            KeyError: If there is no such experiment and ``create`` is false.
        """
        if name == DEFAULT_EXPERIMENT_NAME:
            return DEFAULT_EXPERIMENT_ID
        raise NotImplementedError(f"{type(self).__name__} does not keep named experiments")

    def shutdown(self) -> None:
        """Release resources; called once at exit or when the destination is replaced."""

    def reset_after_fork(self) -> None:
        """Drop locks and connections inherited from the parent process (called in a fork child)."""


class MemoryDestination(TraceDestination):
    """Keeps the most recent traces in memory (``memory://``).

    Args:
        max_traces: How many traces to keep; the oldest are dropped first. Defaults to
            ``TRACEWIRE_MEMORY_MAX_TRACES`` or 10,000.
    """

    def __init__(self, max_traces: int | None = None) -> None:
        if max_traces is None:
            max_traces = int(os.environ.get("TRACEWIRE_MEMORY_MAX_TRACES", "10000") or 10000)
        if max_traces < 1:
            raise ValueError(f"max_traces must be at least 1, got {max_traces}")
        self.max_traces = max_traces
        self._traces: dict[str, Trace] = {}  # insertion order = export order, oldest first
        self._experiments = {DEFAULT_EXPERIMENT_NAME: DEFAULT_EXPERIMENT_ID}
        self._lock = allocate_lock()

    def export(self, traces: Sequence[Trace]) -> None:
        """Keep ``traces``, dropping the oldest beyond ``max_traces``.

        A trace id kept already is merged with the new part (see :func:`merge_traces`).
        """
        with self._lock:
            for trace in traces:
                stored = self._traces.pop(trace.trace_id, None)
                self._traces[trace.trace_id] = (
                    trace if stored is None else merge_traces(stored, trace)
                )
            while len(self._traces) > self.max_traces:
                del self._traces[next(iter(self._traces))]

    def get_trace(self, trace_id: str) -> Trace | None:
        """Return the trace with this id, or ``None``."""
        with self._lock:
            return self._traces.get(trace_id)

    def list_traces(self) -> list[Trace]:
        """Return every kept trace, newest first."""
        with self._lock:
            return list(reversed(self._traces.values()))

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete traces by id; return how many were deleted."""
        with self._lock:
            return sum(self._traces.pop(trace_id, None) is not None for trace_id in trace_ids)

    def experiment_id_for(self, name: str, create: bool = True) -> str:
        """Return the id of the experiment called ``name``, numbering new ones from 1.

        Raises:
            KeyError: If there is no such experiment and ``create`` is false.
        """
        with self._lock:
            experiment_id = self._experiments.get(name)
            if experiment_id is None:
                if not create:
                    raise KeyError(name)
                experiment_id = str(len(self._experiments))
                self._experiments[name] = experiment_id
            return experiment_id

    def reset_after_fork(self) -> None:
        """Replace the lock, which the parent's export thread may have held at fork time."""
        self._lock = allocate_lock()

    def clear(self) -> None:
        """Forget every trace."""
        with self._lock:
            self._traces.clear()

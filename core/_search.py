"""Trace search requests: a parsed filter, experiments, order and limit, in one :class:`TraceQuery`.

Destinations receive the query object: the in-memory store runs :meth:`TraceQuery.apply` over its
traces, the SQLite store turns it into SQL, and a server destination may forward the raw
``filter_string`` and ``order_by``. Imported on the first search only.
"""

from __future__ import annotations

import functools

from tracewire._constants import TraceTagKey
from tracewire._filter import DURATION, NAME, TIMESTAMP, parse_filter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tracewire._trace import Trace

_ORDER_FIELDS = {
    "timestamp": TIMESTAMP,
    "timestamp_ms": TIMESTAMP,
    "request_time": TIMESTAMP,
    "execution_time": DURATION,
    "execution_time_ms": DURATION,
    "execution_duration": DURATION,
    "name": NAME,
}


def parse_order_by(order_by: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    """Parse clauses like ``"timestamp_ms DESC"`` into ``(field, descending)`` pairs.

    Raises:
        ValueError: For an unknown field or direction.
    """
    ordering = []
    for clause in order_by:
        parts = clause.split()
        field = parts[0].lower().removeprefix("attributes.").removeprefix("trace.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if field not in _ORDER_FIELDS or direction not in ("ASC", "DESC") or len(parts) > 2:
            raise ValueError(
                f"invalid order_by clause {clause!r}: use '<field> [ASC|DESC]' with a field among "
                f"{sorted(_ORDER_FIELDS)}"
            )
        ordering.append((_ORDER_FIELDS[field], direction == "DESC"))
    return tuple(ordering)


def _sort_key(field: str) -> functools.partial[str | int]:
    return functools.partial(_order_value, field)


def _order_value(field: str, trace: Trace) -> str | int:
    if field == TIMESTAMP:
        return trace.info.request_time
    if field == DURATION:
        return trace.info.execution_duration or 0
    return trace.info.tags.get(TraceTagKey.TRACE_NAME, "")


class TraceQuery:
    """A search request, parsed once and handed to :meth:`TraceDestination.search_traces`.

    Args:
        filter_string: MLflow-style filter text (see the module docstring); ``None`` matches all.
        experiment_ids: Keep traces of these experiments only; ``None`` keeps every experiment.
        max_results: Return at most this many traces.
        order_by: Clauses like ``"timestamp_ms DESC"``; newest first when empty.

    Attributes:
        filter_string: The raw filter text, for destinations that forward it (a tracking server).
        comparisons: The parsed filter; every comparison must hold.
        experiment_ids: As given (a tuple), or ``None``.
        max_results: As given.
        order_by: The raw clauses.
        ordering: The parsed clauses, ``(field, descending)`` pairs.

    Raises:
        ValueError: For a malformed filter or order clause, or a non-positive ``max_results``.
    """

    __slots__ = (
        "comparisons",
        "experiment_ids",
        "filter_string",
        "max_results",
        "order_by",
        "ordering",
    )

    def __init__(
        self,
        filter_string: str | None = None,
        *,
        experiment_ids: Iterable[str] | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> None:
        if max_results is not None and max_results < 1:
            raise ValueError(f"max_results must be a positive integer, got {max_results}")
        self.filter_string = filter_string or None
        self.comparisons = parse_filter(filter_string) if filter_string else ()
        self.experiment_ids = None if experiment_ids is None else tuple(map(str, experiment_ids))
        self.max_results = max_results
        self.order_by = tuple(order_by or ())
        self.ordering = parse_order_by(self.order_by)

    def matches(self, trace: Trace) -> bool:
        """Return whether ``trace`` is in the experiments asked for and passes every comparison."""
        if self.experiment_ids is not None and trace.info.experiment_id not in self.experiment_ids:
            return False
        return all(comparison.matches(trace) for comparison in self.comparisons)

    def apply(self, traces: Iterable[Trace]) -> list[Trace]:
        """Filter, sort and cut ``traces`` (given newest first) in Python.

        Args:
            traces: Candidate traces, newest first (the order ties keep).

        Returns:
            The matching traces in the requested order, at most ``max_results`` of them.
        """
        found = [trace for trace in traces if self.matches(trace)]
        if not self.ordering:
            found.sort(key=_sort_key(TIMESTAMP), reverse=True)
        # Stable sorts, last clause first, give the first clause precedence.
        for field, descending in reversed(self.ordering):
            found.sort(key=_sort_key(field), reverse=descending)
        return found if self.max_results is None else found[: self.max_results]

    def __repr__(self) -> str:
        return (
            f"TraceQuery(filter_string={self.filter_string!r}, "
            f"experiment_ids={self.experiment_ids!r}, max_results={self.max_results!r}, "
            f"order_by={self.order_by!r})"
        )

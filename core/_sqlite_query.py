"""Translate a :class:`~tracewire._search.TraceQuery` into one parameterized SQLite statement.

Only column names and operators chosen from fixed tables below are written into the SQL text; every
value from the filter travels as a bound parameter, so no filter can inject SQL. The semantics match
:meth:`TraceQuery.matches` exactly (in Python): a trace missing the compared value (no such tag, no duration)
never matches, which is what SQL's NULL comparisons give.
"""

from __future__ import annotations

from tracewire import _filter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._filter import Comparison
    from tracewire._search import TraceQuery

_COLUMNS = {
    _filter.STATE: "t.state",
    _filter.NAME: "t.name",
    _filter.TIMESTAMP: "t.request_time",
    _filter.DURATION: "t.execution_duration",
    _filter.TRACE_ID: "t.trace_id",
    _filter.CLIENT_REQUEST_ID: "t.client_request_id",
}
_KEYED_TABLES = {_filter.TAG: "trace_tags", _filter.METADATA: "trace_metadata"}
# Same keys as the Python sort: a missing duration or name sorts as 0 or "".
_ORDER_COLUMNS = {
    _filter.TIMESTAMP: "t.request_time",
    _filter.DURATION: "COALESCE(t.execution_duration, 0)",
    _filter.NAME: "COALESCE(t.name, '')",
}
_PLAIN_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})


def _compare(column: str, comparison: Comparison) -> tuple[str, list[Any]]:
    operator, value = comparison.operator, comparison.value
    if operator in ("LIKE", "ILIKE"):
        return f"tw_like({column}, ?, {int(operator == 'ILIKE')})", [value]
    if operator in ("IN", "NOT IN"):
        values = list(value)  # type: ignore[arg-type]
        return f"{column} {operator} ({', '.join('?' * len(values))})", values
    if operator not in _PLAIN_OPERATORS:  # the parser admits no other; refuse rather than inline
        raise ValueError(f"unsupported operator {operator!r}")
    return f"{column} {operator} ?", [value]


def _condition(comparison: Comparison) -> tuple[str, list[Any]]:
    table = _KEYED_TABLES.get(comparison.field)
    if table is None:
        return _compare(_COLUMNS[comparison.field], comparison)
    match, parameters = _compare("value", comparison)
    return (
        f"t.trace_id IN (SELECT trace_id FROM {table} WHERE key = ? AND {match})",
        [comparison.key, *parameters],
    )


def select_traces(query: TraceQuery) -> tuple[str, list[Any]]:
    """Build ``SELECT trace_json ...`` for ``query``.

    Args:
        query: The parsed search.

    Returns:
        The SQL text and its parameters, in order.
    """
    where: list[str] = []
    parameters: list[Any] = []
    if query.experiment_ids is not None:
        where.append(f"t.experiment_id IN ({', '.join('?' * len(query.experiment_ids))})")
        parameters.extend(query.experiment_ids)
    for comparison in query.comparisons:
        sql, values = _condition(comparison)
        where.append(sql)
        parameters.extend(values)
    order = [
        f"{_ORDER_COLUMNS[field]} {'DESC' if descending else 'ASC'}"
        for field, descending in query.ordering
    ] or ["t.request_time DESC"]
    # Ties keep the newest export first, as the in-memory store's list order does.
    sql = "SELECT t.trace_json FROM traces AS t"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + ", ".join([*order, "t.rowid DESC"])
    if query.max_results is not None:
        sql += " LIMIT ?"
        parameters.append(query.max_results)
    return sql, parameters

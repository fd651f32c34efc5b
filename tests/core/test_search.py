"""Search filters: parsing, error messages, and the same results from the memory and SQLite stores."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import tracewire
from tracewire._destinations import TraceDestination
from tracewire._export import set_destination
from tracewire._filter import Comparison, parse_filter
from tracewire._search import TraceQuery
from tracewire._sqlite_store import SqliteDestination

Record = Callable[..., str]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags.env = 'prod'", Comparison("tag", "env", "=", "prod")),
        ('tag.env != "prod"', Comparison("tag", "env", "!=", "prod")),
        ("tags.`my key` = 'v'", Comparison("tag", "my key", "=", "v")),
        ("tags.\"my key\" = 'v'", Comparison("tag", "my key", "=", "v")),
        ("tags.mlflow.traceName = 'v'", Comparison("tag", "mlflow.traceName", "=", "v")),
        ("metadata.user = 'ann'", Comparison("metadata", "user", "=", "ann")),
        ("request_metadata.user = 'ann'", Comparison("metadata", "user", "=", "ann")),
        ("trace.status = 'ERROR'", Comparison("state", None, "=", "ERROR")),
        ("status != 'ok'", Comparison("state", None, "!=", "OK")),
        ("state = 'IN_PROGRESS'", Comparison("state", None, "=", "IN_PROGRESS")),
        ("timestamp_ms > 5", Comparison("timestamp_ms", None, ">", 5)),
        ("trace.timestamp_ms <= 5", Comparison("timestamp_ms", None, "<=", 5)),
        ("timestamp >= 5", Comparison("timestamp_ms", None, ">=", 5)),
        ("execution_time_ms < 2.5", Comparison("execution_time_ms", None, "<", 2.5)),
        ("trace.execution_time_ms = 3", Comparison("execution_time_ms", None, "=", 3)),
        ("name LIKE 'a%'", Comparison("name", None, "LIKE", "a%")),
        ("trace.name ilike 'A_'", Comparison("name", None, "ILIKE", "A_")),
        ("request_id = 'tr-1'", Comparison("trace_id", None, "=", "tr-1")),
        ("trace_id IN ('a', 'b')", Comparison("trace_id", None, "IN", ("a", "b"))),
        ("trace.trace_id not in ('a')", Comparison("trace_id", None, "NOT IN", ("a",))),
        ("client_request_id = 'r1'", Comparison("client_request_id", None, "=", "r1")),
        ("tags.q = 'it''s'", Comparison("tag", "q", "=", "it's")),
        ("tags.a == 'b'", Comparison("tag", "a", "=", "b")),
    ],
)
def test_each_filter_form_parses_to_one_comparison(text: str, expected: Comparison) -> None:
    """Every supported field, alias and operator becomes the canonical comparison."""
    assert parse_filter(text) == (expected,)


def test_and_joins_comparisons_case_insensitively() -> None:
    """``AND`` in any case joins comparisons, all of which must hold."""
    parsed = parse_filter("tags.a = 'x' and status = 'OK' AnD timestamp_ms > 1")
    assert [c.field for c in parsed] == ["tag", "state", "timestamp_ms"]


def test_blank_filter_matches_everything() -> None:
    """A blank filter has no comparisons."""
    assert parse_filter("   ") == ()


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("tags.env 'prod'", "expected an operator for 'tags.env'", 10),
        ("foo = 'x'", "unknown field 'foo'", 1),
        ("tags = 'x'", "tags.<key> needs a key", 1),
        ("tags.env = prod", "expected a quoted value", 12),
        ("timestamp_ms > 'soon'", "timestamp_ms compares with a number", 16),
        ("status = 'DONE'", "status must be one of", 10),
        ("tags.a = 'x' OR name = 'y'", "OR is not supported", 14),
        ("tags.a = 'x", "unterminated 'quoted' text", 10),
        ("tags.a = 'x' AND", "the filter ends where", 17),
        ("timestamp_ms LIKE 'x'", "expected an operator for 'timestamp_ms'", 14),
        ("name = 'a' name = 'b'", "expected AND or the end of the filter", 12),
        ("trace_id IN 'a'", "IN needs a list", 13),
        ("trace_id IN ('a' 'b')", "expected ',' or ')'", 18),
        ("name = 'a' ; DROP TABLE traces", "unexpected character ';'", 12),
        ("status NOT = 'OK'", "NOT must be followed by IN", 8),
    ],
)
def test_malformed_filter_message_quotes_it_and_points_at_the_token(
    text: str, message: str, column: int
) -> None:
    """The ValueError names the problem, quotes the filter, carets the token, lists the fields."""
    with pytest.raises(ValueError, match="Invalid filter_string") as caught:
        parse_filter(text)
    lines = str(caught.value).splitlines()
    assert message in lines[0]
    assert f"(column {column})" in lines[0]
    assert lines[1] == f"    {text}"
    assert lines[2].index("^") == 4 + column - 1
    assert lines[3].startswith("Supported: tags.<key> and metadata.<key>")


def test_search_traces_raises_the_parse_error() -> None:
    """The public API surfaces the same pointed ValueError."""
    with pytest.raises(ValueError, match=r"column 10"):
        tracewire.search_traces(filter_string="tags.env 'prod'")


def test_query_keeps_the_raw_filter_for_servers() -> None:
    """A server destination can forward the filter text unchanged."""
    query = TraceQuery("tags.a = 'b'", experiment_ids=["1"], max_results=5, order_by=["name"])
    assert query.filter_string == "tags.a = 'b'"
    assert query.experiment_ids == ("1",)
    assert query.order_by == ("name",)
    assert query.ordering == (("name", False),)


# --------------------------------------------------------------------------------------------------
# The same searches on both stores
# --------------------------------------------------------------------------------------------------


def _ids(filter_string: str | None = None, **kwargs: object) -> set[str]:
    found = tracewire.search_traces(filter_string=filter_string, return_type="list", **kwargs)  # type: ignore[arg-type]
    return {trace.trace_id for trace in found}


def test_tag_equality_and_inequality(store: TraceDestination, recorder: Record) -> None:
    """``tags.k = 'v'`` and ``!=``; a trace without the tag matches neither."""
    prod = recorder(tags={"env": "prod"})
    dev = recorder(tags={"env": "dev"})
    recorder()
    assert _ids("tags.env = 'prod'") == {prod}
    assert _ids("tags.env != 'prod'") == {dev}


def test_backticked_tag_key(store: TraceDestination, recorder: Record) -> None:
    """Keys with spaces or dots are quoted in backticks."""
    wanted = recorder(tags={"my key": "v", "a.b": "w"})
    recorder(tags={"my key": "x"})
    assert _ids("tags.`my key` = 'v'") == {wanted}
    assert _ids("tags.`a.b` = 'w'") == {wanted}


def test_metadata_equality(store: TraceDestination, recorder: Record) -> None:
    """``metadata.k = 'v'`` looks at trace metadata, not tags."""
    wanted = recorder(metadata={"user": "ann"})
    recorder(tags={"user": "ann"})
    assert _ids("metadata.user = 'ann'") == {wanted}


def test_status_filters(store: TraceDestination, recorder: Record) -> None:
    """``status``, ``trace.status`` and ``state`` compare the trace state."""
    failed = recorder(error=True)
    ok = recorder()
    assert _ids("trace.status = 'ERROR'") == {failed}
    assert _ids("state = 'ERROR'") == {failed}
    assert _ids("status != 'ERROR'") == {ok}
    assert _ids("status IN ('OK', 'ERROR')") == {ok, failed}


@pytest.mark.parametrize(
    ("operator", "expected"),
    [(">", {"late"}), (">=", {"mid", "late"}), ("<", {"early"}), ("<=", {"early", "mid"}),
     ("=", {"mid"}), ("!=", {"early", "late"})],
)  # fmt: skip
def test_timestamp_comparisons(
    store: TraceDestination, recorder: Record, operator: str, expected: set[str]
) -> None:
    """``timestamp_ms`` (and ``trace.timestamp_ms``) take every numeric operator."""
    ids = {name: recorder(name, start_ms=start) for name, start in
           (("early", 1_000), ("mid", 2_000), ("late", 3_000))}  # fmt: skip
    wanted = {ids[name] for name in expected}
    assert _ids(f"timestamp_ms {operator} 2000") == wanted
    assert _ids(f"trace.timestamp_ms {operator} 2000") == wanted


@pytest.mark.parametrize(
    ("operator", "expected"),
    [(">", {"slow"}), (">=", {"mid", "slow"}), ("<", {"fast"}), ("<=", {"fast", "mid"}),
     ("=", {"mid"}), ("!=", {"fast", "slow"})],
)  # fmt: skip
def test_execution_time_comparisons(
    store: TraceDestination, recorder: Record, operator: str, expected: set[str]
) -> None:
    """``execution_time_ms`` takes every numeric operator."""
    ids = {name: recorder(name, duration_ms=ms) for name, ms in
           (("fast", 5), ("mid", 50), ("slow", 500))}  # fmt: skip
    assert _ids(f"execution_time_ms {operator} 50") == {ids[name] for name in expected}


def test_name_equality_like_and_ilike(store: TraceDestination, recorder: Record) -> None:
    """``name`` compares the root span name; LIKE is case-sensitive, ILIKE is not."""
    chat = recorder("ChatModel")
    chain = recorder("chain_step")
    assert _ids("name = 'ChatModel'") == {chat}
    assert _ids("trace.name != 'ChatModel'") == {chain}
    assert _ids("name LIKE 'Chat%'") == {chat}
    assert _ids("name LIKE 'chat%'") == set()
    assert _ids("name ILIKE 'chat%'") == {chat}
    assert _ids("name LIKE 'chain_st_p'") == {chain}
    assert _ids("name ILIKE 'ÇHAIN%'") == set()  # no accidental folding of non-ASCII


def test_like_on_tags(store: TraceDestination, recorder: Record) -> None:
    """LIKE and ILIKE work on tag values too."""
    wanted = recorder(tags={"model": "gpt-4o-mini"})
    recorder(tags={"model": "claude"})
    assert _ids("tags.model LIKE 'gpt-%'") == {wanted}
    assert _ids("tags.model ILIKE 'GPT%MINI'") == {wanted}


def test_trace_id_equality_and_in(store: TraceDestination, recorder: Record) -> None:
    """``request_id`` / ``trace_id`` with ``=``, ``IN`` and ``NOT IN``."""
    first, second, third = recorder(), recorder(), recorder()
    assert _ids(f"request_id = '{first}'") == {first}
    assert _ids(f"trace_id IN ('{first}', '{second}')") == {first, second}
    assert _ids(f"trace_id NOT IN ('{first}', '{second}')") == {third}


def test_client_request_id(store: TraceDestination) -> None:
    """``client_request_id`` compares the id the application attached."""
    with tracewire.start_span("s") as span:
        tracewire.update_current_trace(client_request_id="req-7")
    with tracewire.start_span("s"):
        pass
    assert _ids("client_request_id = 'req-7'") == {span.trace_id}


def test_combination_of_every_kind(store: TraceDestination, recorder: Record) -> None:
    """All comparisons joined by AND must hold at once."""
    wanted = recorder("agent", start_ms=5_000, duration_ms=80, tags={"env": "prod"},
                      metadata={"user": "ann"}, error=True)  # fmt: skip
    recorder("agent", start_ms=5_000, duration_ms=80, tags={"env": "prod"},
             metadata={"user": "bob"}, error=True)  # fmt: skip
    recorder(
        "agent", start_ms=5_000, duration_ms=80, tags={"env": "prod"}, metadata={"user": "ann"}
    )
    recorder("agent", start_ms=100, duration_ms=80, tags={"env": "prod"}, error=True)
    text = (
        "tags.env = 'prod' AND metadata.user = 'ann' AND status = 'ERROR' AND "
        "timestamp_ms > 1000 AND execution_time_ms >= 80 AND name LIKE 'ag%'"
    )
    assert _ids(text) == {wanted}


def test_filter_with_order_and_limit(store: TraceDestination, recorder: Record) -> None:
    """Filters combine with ``order_by`` and ``max_results``."""
    ids = [recorder(f"t{i}", start_ms=1_000 + i, tags={"keep": "yes"}) for i in range(4)]
    recorder("other", start_ms=5_000)
    found = tracewire.search_traces(
        filter_string="tags.keep = 'yes'",
        order_by=["timestamp_ms ASC"],
        max_results=2,
        return_type="list",
    )
    assert [t.trace_id for t in found] == ids[:2]


def test_order_by_name_then_time(store: TraceDestination, recorder: Record) -> None:
    """Several order clauses: the first one decides, later ones break ties."""
    b_old = recorder("b", start_ms=1_000)
    a_new = recorder("a", start_ms=3_000)
    b_new = recorder("b", start_ms=2_000)
    found = tracewire.search_traces(order_by=["name ASC", "timestamp_ms DESC"], return_type="list")
    assert [t.trace_id for t in found] == [a_new, b_new, b_old]


def test_experiment_ids_with_a_filter(store: TraceDestination, recorder: Record) -> None:
    """``experiment_ids`` and the filter both apply."""
    wanted = recorder(tags={"k": "v"}, experiment_id="5")
    recorder(tags={"k": "v"})
    assert _ids("tags.k = 'v'", experiment_ids=["5"]) == {wanted}


def test_pandas_return_type_with_a_filter(store: TraceDestination, recorder: Record) -> None:
    """``return_type="pandas"`` holds MLflow's columns for the matching traces only."""
    pd = pytest.importorskip("pandas")
    wanted = recorder(tags={"k": "v"})
    recorder()
    frame = tracewire.search_traces(filter_string="tags.k = 'v'", return_type="pandas")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["trace_id"]) == [wanted]
    assert list(frame.columns) == [
        "trace_id", "trace", "client_request_id", "state", "request_time", "execution_duration",
        "request", "response", "trace_metadata", "tags", "spans", "assessments",
    ]  # fmt: skip


def test_filter_values_are_parameters_not_sql(tmp_path: Path, recorder: Record) -> None:
    """A value crafted as SQL is compared as text: it matches nothing and harms nothing."""
    store = SqliteDestination(tmp_path / "t.db")
    set_destination(store)
    recorder(tags={"k": "v"})
    assert _ids("tags.k = 'x'' OR 1=1; DROP TABLE traces; --'") == set()
    tracewire.flush()
    with sqlite3.connect(tmp_path / "t.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM traces").fetchone() == (1,)

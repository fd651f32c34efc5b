"""Tracking URIs, OTLP routing and fan-out, experiments, and delete_traces."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import tracewire
from tracewire._destinations import MemoryDestination, TraceDestination, TracesDropped
from tracewire._export import set_destination
from tracewire._sqlite_store import SqliteDestination
from tracewire._tracking import DeferredDestination, FanOutDestination, resolve_destination
from tracewire.entities import Trace

Record = Callable[..., str]


def _one(name: str = "t") -> str:
    with tracewire.start_span(name) as span:
        pass
    return span.trace_id


def _stored_names(path: Path) -> list[str]:
    return sorted(t.info.tags["mlflow.traceName"] for t in SqliteDestination(path).list_traces())


def _run(code: str, cwd: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEWIRE_", "OTEL_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**clean, "TRACEWIRE_STRICT": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


# --------------------------------------------------------------------------------------------------
# The tracking URI
# --------------------------------------------------------------------------------------------------


def test_default_uri_is_a_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a URI set or in the environment: ``sqlite:///tracewire.db``."""
    monkeypatch.delenv("TRACEWIRE_TRACKING_URI")
    assert tracewire.get_tracking_uri() == "sqlite:///tracewire.db"


def test_default_store_is_created_on_first_trace_not_at_import(tmp_path: Path) -> None:
    """``import tracewire`` writes nothing; the first trace creates ./tracewire.db."""
    out = _run(
        "import os, sys, tracewire\n"
        "print(os.path.exists('tracewire.db'), 'sqlite3' in sys.modules)\n"
        "with tracewire.start_span('first'):\n"
        "    pass\n"
        "tracewire.flush()\n"
        "print(os.path.exists('tracewire.db'))\n",
        tmp_path,
    )
    assert out.split() == ["False", "False", "True"]
    assert _stored_names(tmp_path / "tracewire.db") == ["first"]


def test_environment_variable_chooses_the_store(tmp_path: Path) -> None:
    """``TRACEWIRE_TRACKING_URI`` is read when the store is first needed."""
    path = tmp_path / "from-env.db"
    _run(
        "import tracewire\nwith tracewire.start_span('env'):\n    pass\n",
        tmp_path,
        TRACEWIRE_TRACKING_URI=f"sqlite:///{path}",
    )
    assert _stored_names(path) == ["env"]
    assert not (tmp_path / "tracewire.db").exists()


def test_environment_variable_is_reported_by_get_tracking_uri(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``get_tracking_uri()`` shows the environment's URI until one is set."""
    monkeypatch.setenv("TRACEWIRE_TRACKING_URI", "sqlite:////tmp/x.db")
    assert tracewire.get_tracking_uri() == "sqlite:////tmp/x.db"
    tracewire.set_tracking_uri("memory://")
    assert tracewire.get_tracking_uri() == "memory://"


def test_switching_uris_flushes_pending_traces_to_the_old_store(tmp_path: Path) -> None:
    """Each trace lands in the store that was current when it finished."""
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    tracewire.set_tracking_uri(f"sqlite:///{first}")
    _one("to-a")
    tracewire.set_tracking_uri(f"sqlite:///{second}")
    _one("to-b")
    tracewire.set_tracking_uri("memory://")
    in_memory = _one("to-memory")
    assert _stored_names(first) == ["to-a"]
    assert _stored_names(second) == ["to-b"]
    assert tracewire.get_trace(in_memory) is not None


def test_relative_sqlite_uri_and_bare_path_and_pathlike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///rel.db``, a bare path and a ``Path`` all name SQLite files."""
    monkeypatch.chdir(tmp_path)
    for uri, name in (("sqlite:///rel.db", "rel"), ("bare.db", "bare"), (Path("p.db"), "p")):
        tracewire.set_tracking_uri(uri)
        _one(name)
        tracewire.flush()
    tracewire.set_tracking_uri("memory://")
    for name in ("rel", "bare", "p"):
        assert _stored_names(tmp_path / f"{name}.db") == [name]


def test_memory_uri_keeps_traces_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``memory://`` writes no file."""
    monkeypatch.chdir(tmp_path)
    tracewire.set_tracking_uri("memory://")
    trace_id = _one()
    assert tracewire.get_trace(trace_id) is not None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("uri", ["ftp://host/x", "file:///tmp/mlruns", "localhost:5000", ""])
def test_unsupported_uri_is_a_value_error_listing_the_accepted_forms(uri: str) -> None:
    """An unknown scheme (or a host:port without one) names what is accepted."""
    with pytest.raises(ValueError, match=r"'memory://', 'sqlite:///relative/path.db'"):
        tracewire.set_tracking_uri(uri)


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///:memory:"])
def test_sqlite_uri_without_a_file_is_a_value_error(uri: str) -> None:
    """An SQLite URI must name a file; the message shows both forms and memory://."""
    with pytest.raises(ValueError, match="an SQLite URI names a file"):
        tracewire.set_tracking_uri(uri)


def test_unusable_uri_in_the_environment_warns_and_keeps_traces_in_memory(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad ``TRACEWIRE_TRACKING_URI`` never breaks the program: one warning, memory."""
    monkeypatch.setenv("TRACEWIRE_TRACKING_URI", "ftp://nowhere/traces")
    set_destination(DeferredDestination())
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        trace_id = _one()
        assert tracewire.get_trace(trace_id) is not None
    assert caplog.text.count("cannot use tracking URI 'ftp://nowhere/traces'") == 1


# --------------------------------------------------------------------------------------------------
# OTLP routing and fan-out
# --------------------------------------------------------------------------------------------------


class _Failing(MemoryDestination):
    def export(self, traces: Sequence[Trace]) -> None:
        raise ConnectionError("collector down")


def test_fan_out_sends_every_trace_to_every_writer_and_reads_from_one() -> None:
    """Both writers get the batch; reads, deletes and experiments go to the reader."""
    store, other = MemoryDestination(), MemoryDestination()
    set_destination(FanOutDestination([store, other], reader=store))
    trace_id = _one()
    tracewire.flush()
    assert store.get_trace(trace_id) is not None
    assert other.get_trace(trace_id) is not None
    assert tracewire.delete_traces(trace_ids=[trace_id]) == 1
    assert store.get_trace(trace_id) is None
    assert other.get_trace(trace_id) is not None


def test_fan_out_writer_failure_does_not_starve_the_others() -> None:
    """A failing writer still lets the next one store the batch; the error is re-raised."""
    trace = tracewire.get_trace(_one())
    assert trace is not None
    store = MemoryDestination()
    fan_out = FanOutDestination([_Failing(), store], reader=store)
    with pytest.raises(ConnectionError, match="collector down"):
        fan_out.export([trace])
    assert store.get_trace(trace.trace_id) is not None


class _Dropping(MemoryDestination):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def export(self, traces: Sequence[Trace]) -> None:
        raise TracesDropped(self.count)


def test_fan_out_reports_the_largest_drop_when_writers_only_drop() -> None:
    """Counted drops are not internal errors; the traces some writer lost are counted once."""
    trace = tracewire.get_trace(_one())
    assert trace is not None
    fan_out = FanOutDestination([_Dropping(1), _Dropping(2)], reader=MemoryDestination())
    with pytest.raises(TracesDropped) as raised:
        fan_out.export([trace])
    assert raised.value.count == 2


def test_fan_out_reports_an_error_before_drops() -> None:
    trace = tracewire.get_trace(_one())
    assert trace is not None
    fan_out = FanOutDestination([_Dropping(1), _Failing()], reader=MemoryDestination())
    with pytest.raises(ConnectionError, match="collector down"):
        fan_out.export([trace])


@pytest.fixture
def otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OTLP endpoint in the environment (nothing listens: these tests only build destinations)."""
    pytest.importorskip("opentelemetry.proto", reason="needs tracewire[otlp]")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")


def test_otlp_endpoint_replaces_the_store_for_writes(otlp_endpoint: None) -> None:
    """As in MLflow, an OTLP endpoint receives the traces instead of the tracking store."""
    from tracewire._otlp_destination import OtlpDestination

    destination = resolve_destination("memory://")
    assert isinstance(destination, FanOutDestination)
    assert [type(writer) for writer in destination.writers] == [OtlpDestination]
    assert isinstance(destination.reader, MemoryDestination)


def test_dual_export_writes_to_the_store_and_the_collector(
    otlp_endpoint: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TRACEWIRE_TRACE_ENABLE_OTLP_DUAL_EXPORT=true`` keeps the store too; reads go to it."""
    from tracewire._otlp_destination import OtlpDestination

    monkeypatch.setenv("TRACEWIRE_TRACE_ENABLE_OTLP_DUAL_EXPORT", "true")
    destination = resolve_destination("memory://")
    assert isinstance(destination, FanOutDestination)
    assert [type(writer) for writer in destination.writers] == [MemoryDestination, OtlpDestination]
    assert destination.reader is destination.writers[0]


def test_missing_otlp_exporter_warns_once_and_uses_the_store(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An OTLP endpoint without the exporter: one warning; traces go to the tracking URI."""
    monkeypatch.setitem(sys.modules, "tracewire._otlp_destination", None)  # import fails
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert isinstance(resolve_destination("memory://"), MemoryDestination)
        assert isinstance(resolve_destination("memory://"), MemoryDestination)
    assert caplog.text.count("cannot export over OTLP") == 1


# --------------------------------------------------------------------------------------------------
# Experiments
# --------------------------------------------------------------------------------------------------


def test_set_experiment_by_name_labels_new_traces(store: TraceDestination) -> None:
    """Traces started after ``set_experiment(name)`` carry the experiment's id."""
    before = _one()
    experiment = tracewire.set_experiment("checkout")
    after = _one()
    assert experiment.name == "checkout"
    assert experiment.experiment_id not in ("", "0")
    assert tracewire.set_experiment("checkout").experiment_id == experiment.experiment_id
    assert _experiment_of(before) == "0"
    assert _experiment_of(after) == experiment.experiment_id


def _experiment_of(trace_id: str) -> str:
    trace = tracewire.get_trace(trace_id)
    assert trace is not None
    return trace.info.experiment_id


def test_a_trace_in_progress_keeps_the_experiment_it_started_in(store: TraceDestination) -> None:
    """Switching experiments does not relabel traces already started (or queued)."""
    with tracewire.start_span("started-before") as span:
        tracewire.set_experiment("later")
    queued = _one("queued")
    tracewire.set_experiment("even-later")
    assert _experiment_of(span.trace_id) == "0"
    assert _experiment_of(queued) == tracewire.set_experiment("later").experiment_id


def test_set_experiment_by_id(store: TraceDestination) -> None:
    """An id is used as given."""
    tracewire.set_experiment(experiment_id="42")
    trace_id = _one()
    assert _experiment_of(trace_id) == "42"


@pytest.mark.parametrize(
    "kwargs", [{}, {"experiment_name": "a", "experiment_id": "1"}, {"experiment_name": " "}]
)
def test_set_experiment_needs_exactly_one_argument(kwargs: dict[str, str]) -> None:
    """Neither, both, or an empty name: a clear ValueError."""
    with pytest.raises(ValueError, match="experiment"):
        tracewire.set_experiment(**kwargs)


def test_search_defaults_to_the_active_experiment(store: TraceDestination) -> None:
    """Without experiment arguments, search looks in the active experiment (as MLflow)."""
    _one("default")
    tracewire.set_experiment("mine")
    mine = _one("mine")
    assert [t.trace_id for t in tracewire.search_traces(return_type="list")] == [mine]


def test_search_by_experiment_names(store: TraceDestination) -> None:
    """``experiment_names`` resolves through the store; unknown names match nothing."""
    default = _one()
    tracewire.set_experiment("named")
    named = _one()
    found = tracewire.search_traces(experiment_names=["named", "Default"], return_type="list")
    assert {t.trace_id for t in found} == {default, named}
    assert tracewire.search_traces(experiment_names=["nope"], return_type="list") == []


def test_experiment_names_persist_in_the_sqlite_file(tmp_path: Path) -> None:
    """A second process finds the same id for the same name."""
    uri = f"sqlite:///{tmp_path / 't.db'}"
    code = "import tracewire\nprint(tracewire.set_experiment('shared').experiment_id)\n"
    assert _run(code, tmp_path, TRACEWIRE_TRACKING_URI=uri) == "1\n"
    assert _run(code, tmp_path, TRACEWIRE_TRACKING_URI=uri) == "1\n"


def test_changing_the_uri_looks_the_experiment_up_again(tmp_path: Path) -> None:
    """An experiment chosen by name follows the user to the new store."""
    tracewire.set_tracking_uri(f"sqlite:///{tmp_path / 'a.db'}")
    tracewire.set_experiment("first")
    tracewire.set_experiment("second")
    tracewire.set_tracking_uri(f"sqlite:///{tmp_path / 'b.db'}")
    trace_id = _one()
    trace = tracewire.get_trace(trace_id)
    assert trace is not None
    assert trace.info.experiment_id == "1"  # "second" is b.db's first experiment


# --------------------------------------------------------------------------------------------------
# delete_traces
# --------------------------------------------------------------------------------------------------


def test_delete_by_ids(store: TraceDestination, recorder: Record) -> None:
    """``trace_ids`` deletes exactly those; unknown ids are not counted."""
    keep, drop = recorder(), recorder()
    assert tracewire.delete_traces(trace_ids=[drop, "tr-" + "f" * 32]) == 1
    assert [t.trace_id for t in store.list_traces()] == [keep]


def test_delete_by_filter(store: TraceDestination, recorder: Record) -> None:
    """``filter_string`` deletes what the same search would find."""
    keep = recorder(tags={"env": "prod"})
    recorder(tags={"env": "dev"})
    recorder(tags={"env": "dev"}, error=True)
    assert tracewire.delete_traces(filter_string="tags.env = 'dev'") == 2
    assert [t.trace_id for t in store.list_traces()] == [keep]


def test_delete_by_timestamp_oldest_first_up_to_max_traces(
    store: TraceDestination, recorder: Record
) -> None:
    """MLflow's ``max_timestamp_millis`` (inclusive) and ``max_traces`` (oldest first)."""
    ids = [recorder(start_ms=ms) for ms in (1_000, 2_000, 3_000, 4_000)]
    assert tracewire.delete_traces(max_timestamp_millis=3_000, max_traces=2) == 2
    assert {t.trace_id for t in store.list_traces()} == {ids[2], ids[3]}
    assert tracewire.delete_traces(max_timestamp_millis=3_000) == 1


def test_delete_in_an_experiment(store: TraceDestination, recorder: Record) -> None:
    """``experiment_id`` (MLflow's first argument) limits the deletion."""
    keep = recorder(start_ms=1_000)
    recorder(start_ms=1_000, experiment_id="3")
    assert tracewire.delete_traces("3", max_timestamp_millis=5_000) == 1
    assert [t.trace_id for t in store.list_traces()] == [keep]


def test_delete_needs_a_criterion() -> None:
    """Nothing to select by is an error, not "delete everything"."""
    with pytest.raises(ValueError, match="needs trace_ids, max_timestamp_millis or filter_string"):
        tracewire.delete_traces()


def test_delete_rejects_a_single_string_of_ids() -> None:
    """A str where a list belongs is a TypeError with the fix."""
    with pytest.raises(TypeError, match="use"):
        tracewire.delete_traces(trace_ids="tr-1")
    with pytest.raises(TypeError, match="experiment_id must be a str"):
        tracewire.delete_traces(["tr-1"])  # type: ignore[arg-type]

"""The SQLite store: file format, batching, concurrency, bad files, fallback, merging, fork."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import tracewire
from tracewire._destinations import TraceDestination
from tracewire._export import set_destination
from tracewire._search import TraceQuery
from tracewire._sqlite_schema import SCHEMA_VERSION, StoreError
from tracewire._sqlite_store import SqliteDestination
from tracewire.entities import Span, SpanStatus, Trace, TraceData, TraceInfo

Record = Callable[..., str]


def _span(
    trace_id: str, span_id: str, parent_id: str | None, name: str, start_ms: int, end_ms: int,
    usage: dict[str, int] | None = None,
) -> Span:  # fmt: skip
    attributes = {"mlflow.traceRequestId": json.dumps(trace_id), "mlflow.spanType": '"CHAIN"'}
    if usage is not None:
        attributes["mlflow.chat.tokenUsage"] = json.dumps(usage)
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id,
        name=name,
        start_time_ns=start_ms * 1_000_000,
        end_time_ns=end_ms * 1_000_000,
        status=SpanStatus("OK"),
        attributes=attributes,
        events=[],
    )


def _trace(
    trace_id: str, spans: list[Span], *, name: str, request_time: int, duration: int,
    preview: str, tags: dict[str, str], usage: dict[str, int] | None = None,
) -> Trace:  # fmt: skip
    metadata = {} if usage is None else {"mlflow.trace.tokenUsage": json.dumps(usage)}
    info = TraceInfo(
        trace_id,
        request_time,
        "OK",
        request_preview=preview,
        execution_duration=duration,
        trace_metadata=metadata,
        tags={"mlflow.traceName": name, **tags},
    )
    return Trace(info, TraceData(spans))


def _simple(trace_id: str | None = None, name: str = "t", start_ms: int = 1_000) -> Trace:
    trace_id = trace_id or f"tr-{uuid.uuid4().hex}"
    span = _span(trace_id, uuid.uuid4().hex[:16], None, name, start_ms, start_ms + 5)
    return _trace(
        trace_id, [span], name=name, request_time=start_ms, duration=5, preview="", tags={}
    )


USAGE = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


def _distributed_parts() -> tuple[Trace, Trace]:
    """Return the client part and the server part of one distributed trace.

    The client's span that called the server reports the LLM usage it got back; the server's
    spans hang under that client span.
    """
    trace_id = "tr-" + "ab" * 16
    client = _trace(
        trace_id,
        [
            _span(trace_id, "a" * 16, None, "client", 1_000, 1_100),
            _span(trace_id, "b" * 16, "a" * 16, "call-server", 1_010, 1_090, usage=USAGE),
        ],
        name="client", request_time=1_000, duration=100, preview="question", usage=USAGE,
        tags={"side": "client", "shared": "client"},
    )  # fmt: skip
    server = _trace(
        trace_id,
        [
            _span(trace_id, "c" * 16, "b" * 16, "handle", 1_020, 1_080),
            _span(trace_id, "d" * 16, "c" * 16, "llm", 1_030, 1_070, usage=USAGE),
        ],
        name="handle", request_time=1_020, duration=60, preview="server view", usage=USAGE,
        tags={"side": "server", "shared": "server", "server_only": "1"},
    )  # fmt: skip
    return client, server


# --------------------------------------------------------------------------------------------------
# File format and writing
# --------------------------------------------------------------------------------------------------


def test_file_is_in_wal_mode_with_the_schema_version(tmp_path: Path) -> None:
    """The first write creates the file in WAL mode and stamps ``PRAGMA user_version``."""
    path = tmp_path / "deep" / "dir" / "t.db"
    SqliteDestination(path).export([_simple()])
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert connection.execute("SELECT * FROM experiments").fetchall()[0][:2] == ("0", "Default")


def test_one_transaction_per_export_batch(tmp_path: Path) -> None:
    """A batch of 300 traces is written in exactly one transaction."""
    store = SqliteDestination(tmp_path / "t.db")
    store.export([_simple()])  # opens the connection
    statements: list[str] = []
    assert store._writer is not None
    store._writer.set_trace_callback(statements.append)
    store.export([_simple() for _ in range(300)])
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    assert len(store.list_traces()) == 301


def test_traces_round_trip_through_the_file(tmp_path: Path, recorder: Record) -> None:
    """What the tracer exports reads back equal, in a fresh destination on the same file."""
    set_destination(SqliteDestination(tmp_path / "t.db"))
    trace_id = recorder("root", tags={"k": "v"}, metadata={"m": "1"})
    original = tracewire.get_trace(trace_id)
    assert original is not None
    reread = SqliteDestination(tmp_path / "t.db").get_trace(trace_id)
    assert reread is not None
    assert reread.to_dict() == original.to_dict()


def test_reading_a_missing_file_finds_nothing_and_creates_nothing(tmp_path: Path) -> None:
    """Reads of a store that was never written return nothing and leave no file behind."""
    path = tmp_path / "never.db"
    store = SqliteDestination(path)
    assert store.list_traces() == []
    assert store.get_trace("tr-" + "0" * 32) is None
    assert store.search_traces(TraceQuery("tags.a = 'b'")) == []
    assert store.delete_traces(["tr-x"]) == 0
    assert store.experiment_id_for("Default", create=False) == "0"
    with pytest.raises(KeyError):
        store.experiment_id_for("other", create=False)
    assert not path.exists()


# --------------------------------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------------------------------

_WRITER_PROGRAM = """
import sys, threading, tracewire

ids, lock = [], threading.Lock()

def work(thread):
    for index in range(50):
        with tracewire.start_span(f"p{sys.argv[1]}-t{thread}-{index}") as span:
            pass
        with lock:
            ids.append(span.trace_id)

threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert tracewire.flush(timeout=60)
print("\\n".join(ids))
"""


def test_two_processes_of_four_threads_write_one_file(tmp_path: Path) -> None:
    """2 real processes x 4 threads each write 400 traces to one file: all are stored."""
    path = tmp_path / "shared.db"
    env = {**os.environ, "TRACEWIRE_TRACKING_URI": f"sqlite:///{path}"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER_PROGRAM, str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    written: set[str] = set()
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "cannot write" not in err
        written.update(out.split())
    assert len(written) == 400
    stored = {t.trace_id for t in SqliteDestination(path).list_traces()}
    assert stored == written


def test_threads_with_their_own_connections_write_one_file(tmp_path: Path) -> None:
    """Four destinations (four connections) exporting concurrently lose nothing."""
    path = tmp_path / "t.db"
    batches = [[_simple() for _ in range(10)] for _ in range(40)]
    errors: list[BaseException] = []

    def export(part: list[list[Trace]]) -> None:
        store = SqliteDestination(path)
        try:
            for batch in part:
                store.export(batch)
        except BaseException as error:
            errors.append(error)
        finally:
            store.shutdown()

    threads = [threading.Thread(target=export, args=(batches[k::4],)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(SqliteDestination(path).list_traces()) == 400


# --------------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------------


def _newer_file(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")


def test_newer_schema_is_a_clear_error_naming_file_and_versions(tmp_path: Path) -> None:
    """Reading a file written by a newer tracewire names the file and both schema versions."""
    path = tmp_path / "new.db"
    _newer_file(path)
    with pytest.raises(StoreError) as caught:
        SqliteDestination(path).list_traces()
    message = str(caught.value)
    assert str(path) in message
    assert "schema version 99" in message
    assert f"version {SCHEMA_VERSION} that this tracewire" in message


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not SQLite is refused with a message naming it."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all " * 200)
    set_destination(SqliteDestination(path))
    with pytest.raises(StoreError, match=r"junk\.db is not a usable tracewire trace store"):
        tracewire.search_traces(return_type="list")


def test_database_of_another_application_is_refused(tmp_path: Path) -> None:
    """An SQLite file of another application never gets tracewire's tables."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(StoreError, match="another application"):
        SqliteDestination(path).list_traces()
    SqliteDestination(path).export([_simple()])  # falls back to memory (tested below)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]


@pytest.mark.parametrize("problem", ["parent-is-a-file", "newer-schema", "corrupt", "foreign"])
def test_unusable_file_falls_back_to_memory_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    """An unwritable file: one warning; every trace, the failed batch too, is kept in memory."""
    path = tmp_path / "t.db"
    if problem == "parent-is-a-file":
        (tmp_path / "blocker").write_text("a file, not a directory")
        path = tmp_path / "blocker" / "t.db"
    elif problem == "newer-schema":
        _newer_file(path)
    elif problem == "foreign":
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE users (id INTEGER)")
    else:
        path.write_bytes(b"garbage" * 1000)
    tracewire.set_tracking_uri(f"sqlite:///{path}")
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        first = [_one() for _ in range(3)]
        tracewire.flush()
        later = [_one() for _ in range(3)]
        tracewire.flush()
    assert all(tracewire.get_trace(trace_id) is not None for trace_id in first + later)
    assert caplog.text.count("cannot write traces to") == 1
    assert str(path) in caplog.text


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions"
)
def test_read_only_directory_falls_back_to_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A directory the process cannot write: one warning, nothing lost."""
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        tracewire.set_tracking_uri(f"sqlite:///{directory}/t.db")
        with caplog.at_level(logging.WARNING, logger="tracewire"):
            ids = [_one() for _ in range(3)]
            tracewire.flush()
        assert all(tracewire.get_trace(trace_id) is not None for trace_id in ids)
        assert caplog.text.count("cannot write traces to") == 1
    finally:
        directory.chmod(0o755)


_READ_ONLY_PROGRAM = """
import logging, sys, tracewire
logging.basicConfig()
tracewire.set_tracking_uri(sys.argv[1])
ids = []
for _ in range(4):
    with tracewire.start_span("s") as span:
        pass
    ids.append(span.trace_id)
    tracewire.flush()
print(all(tracewire.get_trace(i) is not None for i in ids))
"""


def test_read_only_directory_falls_back_in_a_process_without_root(tmp_path: Path) -> None:
    """As root, the same check runs in a child process that may not override file permissions.

    The child stays root (it can read this installation wherever it is) but starts without the
    capabilities that let root ignore a directory's mode (``CAP_DAC_OVERRIDE`` and kin).
    """
    setpriv = shutil.which("setpriv")
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to start a process without CAP_DAC_OVERRIDE")
    bounded = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", sys.executable]
    directory = tmp_path / "ro"
    directory.mkdir(mode=0o555)
    result = subprocess.run(
        [*bounded, "-c", _READ_ONLY_PROGRAM, f"sqlite:///{directory}/t.db"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "TRACEWIRE_STRICT": "1"},
    )
    assert result.stdout.strip() == "True"
    assert result.stderr.count("cannot write traces to") == 1
    assert "unable to open database file" in result.stderr
    assert not (directory / "t.db").exists()


def _one(name: str = "t") -> str:
    with tracewire.start_span(name) as span:
        pass
    return span.trace_id


# --------------------------------------------------------------------------------------------------
# Merging the parts of one trace
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_first", [False, True], ids=["client-first", "server-first"])
def test_two_partial_exports_of_one_trace_merge(
    store: TraceDestination, server_first: bool
) -> None:
    """Both parts' spans are kept; the root's part names the trace; tokens are counted once."""
    client, server = _distributed_parts()
    for part in (server, client) if server_first else (client, server):
        store.export([part])
    merged = store.get_trace(client.trace_id)
    assert merged is not None
    assert [s.name for s in merged.data.spans] == ["client", "call-server", "handle", "llm"]
    assert merged.info.tags["mlflow.traceName"] == "client"
    assert merged.info.request_preview == "question"
    assert (merged.info.request_time, merged.info.execution_duration) == (1_000, 100)
    assert merged.info.tags["shared"] == "client"
    assert merged.info.tags["server_only"] == "1"
    assert merged.info.token_usage == USAGE  # not 14 / 6 / 20
    assert len(store.list_traces()) == 1


def test_merged_trace_is_found_by_both_parts_tags(store: TraceDestination) -> None:
    """The merged trace's index holds the tags of both parts (SQL search sees the merge)."""
    client, server = _distributed_parts()
    store.export([client])
    store.export([server])
    for text in ("tags.server_only = '1'", "tags.side = 'client'", "name = 'client'"):
        assert [t.trace_id for t in store.search_traces(TraceQuery(text))] == [client.trace_id]


def test_parts_in_one_batch_merge(store: TraceDestination) -> None:
    """Two parts of one trace arriving in the same batch merge the same way."""
    client, server = _distributed_parts()
    store.export([server, client])
    merged = store.get_trace(client.trace_id)
    assert merged is not None
    assert len(merged.data.spans) == 4
    assert merged.info.token_usage == USAGE


def test_re_export_does_not_duplicate_spans(store: TraceDestination) -> None:
    """Exporting the very same trace twice keeps one copy of each span."""
    trace = _simple()
    store.export([trace])
    store.export([trace])
    stored = store.get_trace(trace.trace_id)
    assert stored is not None
    assert len(stored.data.spans) == 1


# --------------------------------------------------------------------------------------------------
# fork
# --------------------------------------------------------------------------------------------------

_FORK_PROGRAM = """
import os, sys, tracewire

tracewire.set_tracking_uri(sys.argv[1])

def one(name):
    with tracewire.start_span(name):
        pass

one("parent-before")
tracewire.flush()
print(len(tracewire.search_traces(return_type="list")), flush=True)  # the reader is open too
pid = os.fork()
if pid == 0:
    one("child")
    tracewire.flush()
    os._exit(0)
os.waitpid(pid, 0)
one("parent-after")
tracewire.flush()
names = sorted(t.info.tags["mlflow.traceName"] for t in tracewire.search_traces(return_type="list"))
print(",".join(names))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_reopens_its_connections(tmp_path: Path) -> None:
    """Parent and forked child both write the file the parent had open; nothing is lost."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FORK_PROGRAM), f"sqlite:///{tmp_path}/t.db"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["1", "child,parent-after,parent-before"]


_WRITE_THEN_READ = """
import sys, tracewire
tracewire.set_tracking_uri(sys.argv[1])
with tracewire.start_span("s") as span:
    pass
assert tracewire.get_trace(span.trace_id) is not None
"""


def test_no_wal_files_are_left_beside_the_store_after_a_writer_and_a_reader_exit(
    tmp_path: Path,
) -> None:
    """The process that wrote and read, then one that only reads: only the store remains."""
    uri = f"sqlite:///{tmp_path}/t.db"
    subprocess.run([sys.executable, "-c", _WRITE_THEN_READ, uri], check=True, timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.db"]

    read_only = "import sys, tracewire; tracewire.set_tracking_uri(sys.argv[1]); "
    read_only += "assert tracewire.search_traces(return_type='list')"
    subprocess.run([sys.executable, "-c", read_only, uri], check=True, timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.db"]

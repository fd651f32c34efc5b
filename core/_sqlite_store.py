"""The embedded default destination: traces in one SQLite file (``sqlite:///path.db``).

Writes happen on the export thread only, one transaction per export batch. Several threads and
processes may write the same file: WAL mode, ``BEGIN IMMEDIATE`` transactions, SQLite's busy
timeout and a few retries serialize them, and merging happens inside the transaction, so two
processes exporting parts of one distributed trace never lose each other's spans.

If the file cannot be written when the export thread gets to it (read-only location, newer schema,
not a database), one warning is logged and this destination keeps traces in memory for the rest of
the process, the failed batch included: nothing recorded is lost, and the program runs on.
"""

from __future__ import annotations

import os
import sqlite3
import time
from _thread import allocate_lock

from tracewire._constants import TraceTagKey
from tracewire._destinations import DEFAULT_EXPERIMENT_NAME, MemoryDestination, TraceDestination
from tracewire._errors import warn_once
from tracewire._merge import merge_batch, merge_traces
from tracewire._sqlite_query import select_traces
from tracewire._sqlite_schema import StoreError, as_store_error, connect, is_busy
from tracewire._trace import Trace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeVar

    from tracewire._search import TraceQuery

    T = TypeVar("T")

_RETRIES = 5  # after each busy timeout; a lock held this long means a stuck writer elsewhere
_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound on query parameters
_INSERT_TRACE = "INSERT OR REPLACE INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_TRACE_NAME = TraceTagKey.TRACE_NAME

# Connections inherited through fork(): never used again, and never closed either, because closing
# the child's copy could disturb the parent's locks on the file. Kept referenced so that garbage
# collection does not close them.
_INHERITED: list[sqlite3.Connection] = []


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[start : start + _CHUNK] for start in range(0, len(items), _CHUNK)]


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class SqliteDestination(TraceDestination):
    """Stores traces in an SQLite file (``sqlite:///path.db``).

    Args:
        path: The database file; created, with its directory, on the first write. Reading a file
            that does not exist finds no traces and does not create it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._write_lock = allocate_lock()
        self._read_lock = allocate_lock()
        self._fallback: MemoryDestination | None = None

    def __repr__(self) -> str:
        return f"SqliteDestination({self.path!r})"

    @property
    def fallback(self) -> MemoryDestination | None:
        """The in-memory store used since the file proved unwritable, or ``None``."""
        return self._fallback

    # ----------------------------------------------------------------------------------- writing

    def export(self, traces: Sequence[Trace]) -> None:
        """Write one batch in one transaction, merging trace ids that are stored already."""
        if self._fallback is None:
            batch = merge_batch(list(traces))
            if self._write(lambda connection: self._write_batch(connection, batch)) is not None:
                return
        if self._fallback is not None:
            self._fallback.export(traces)

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run ``work`` in a write transaction, retrying while other writers hold the lock.

        Returns:
            What ``work`` returned, or ``None`` when the file proved unusable and this destination
            switched to memory (with one warning).

        Raises:
            sqlite3.OperationalError: If the lock stayed busy through every retry.
        """
        with self._write_lock:
            for attempt in range(_RETRIES + 1):
                try:
                    connection = self._writer
                    if connection is None:
                        connection = self._writer = connect(self.path, read_only=False)[0]
                    connection.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(connection)
                        connection.execute("COMMIT")
                    except BaseException:
                        if connection.in_transaction:
                            connection.execute("ROLLBACK")
                        raise
                    return result
                except sqlite3.OperationalError as error:
                    if is_busy(error):
                        if attempt == _RETRIES:
                            raise
                        time.sleep(0.05 * 2**attempt)
                        continue
                    self._fall_back(error)
                    return None
                except (sqlite3.DatabaseError, StoreError, OSError) as error:
                    self._fall_back(error)
                    return None
        return None  # pragma: no cover - the loop returns or raises

    def _fall_back(self, error: BaseException) -> None:
        if isinstance(error, sqlite3.DatabaseError):
            error = as_store_error(error, self.path)
        warn_once(
            f"sqlite-unusable:{self.path}",
            "tracewire cannot write traces to %s (%s: %s); they are kept in memory for the rest of "
            "this process instead (readable here with tracewire.get_trace and search_traces, gone "
            "at exit). Point tracewire.set_tracking_uri() or TRACEWIRE_TRACKING_URI at a writable "
            "file",
            self.path,
            type(error).__name__,
            error,
        )
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        self._fallback = MemoryDestination()

    def _memory(self) -> MemoryDestination:
        """The fallback store; ``_write`` returns ``None`` only after creating it."""
        fallback = self._fallback
        if fallback is None:  # pragma: no cover - guarded by _write's contract
            raise RuntimeError("the SQLite store has not fallen back to memory")
        return fallback

    def _write_batch(self, connection: sqlite3.Connection, batch: dict[str, Trace]) -> int:
        stored: dict[str, str] = {}
        for chunk in _chunks(list(batch)):
            stored.update(
                connection.execute(
                    "SELECT trace_id, trace_json FROM traces "
                    f"WHERE trace_id IN ({_placeholders(len(chunk))})",
                    chunk,
                ).fetchall()
            )
        trace_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[str, str, str]] = []
        metadata_rows: list[tuple[str, str, str]] = []
        for trace_id, incoming in batch.items():
            trace = incoming
            if trace_id in stored:
                trace = merge_traces(Trace.from_json(stored[trace_id]), incoming)
            info = trace.info
            trace_rows.append(
                (
                    trace_id,
                    info.experiment_id,
                    info.tags.get(_TRACE_NAME),
                    info.state.value,
                    info.request_time,
                    info.execution_duration,
                    info.client_request_id,
                    trace.to_json(),
                )
            )
            tag_rows.extend((trace_id, key, value) for key, value in info.tags.items())
            metadata_rows.extend((trace_id, k, v) for k, v in info.trace_metadata.items())
        if stored:  # merged traces: their old tags and metadata are replaced below
            replaced = [(trace_id,) for trace_id in stored]
            connection.executemany("DELETE FROM trace_tags WHERE trace_id = ?", replaced)
            connection.executemany("DELETE FROM trace_metadata WHERE trace_id = ?", replaced)
        connection.executemany(_INSERT_TRACE, trace_rows)
        connection.executemany("INSERT OR REPLACE INTO trace_tags VALUES (?, ?, ?)", tag_rows)
        connection.executemany(
            "INSERT OR REPLACE INTO trace_metadata VALUES (?, ?, ?)", metadata_rows
        )
        return len(trace_rows)

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete traces by id; return how many were deleted."""
        if self._fallback is None and not os.path.exists(self.path):
            return 0
        ids = list(dict.fromkeys(trace_ids))

        def delete(connection: sqlite3.Connection) -> int:
            deleted = 0
            for chunk in _chunks(ids):
                marks = _placeholders(len(chunk))
                cursor = connection.execute(
                    f"DELETE FROM traces WHERE trace_id IN ({marks})", chunk
                )
                deleted += cursor.rowcount
                connection.execute(f"DELETE FROM trace_tags WHERE trace_id IN ({marks})", chunk)
                connection.execute(f"DELETE FROM trace_metadata WHERE trace_id IN ({marks})", chunk)
            return deleted

        if self._fallback is None:
            count = self._write(delete)
            if count is not None:
                return count
        return self._memory().delete_traces(ids)

    def experiment_id_for(self, name: str, create: bool = True) -> str:
        """Return the id of the experiment called ``name`` (``"Default"`` is ``"0"``).

        Raises:
            KeyError: If there is no such experiment and ``create`` is false.
        """
        if self._fallback is not None:
            return self._fallback.experiment_id_for(name, create)
        rows = self._read("SELECT experiment_id FROM experiments WHERE name = ?", (name,))
        if rows:
            return str(rows[0][0])
        if name == DEFAULT_EXPERIMENT_NAME:
            return "0"
        if not create:
            raise KeyError(name)

        def create_experiment(connection: sqlite3.Connection) -> str:
            row = connection.execute(
                "SELECT experiment_id FROM experiments WHERE name = ?", (name,)
            ).fetchone()
            if row is not None:  # another process created it meanwhile
                return str(row[0])
            (next_id,) = connection.execute(
                "SELECT COALESCE(MAX(CAST(experiment_id AS INTEGER)), 0) + 1 FROM experiments"
            ).fetchone()
            connection.execute(
                "INSERT INTO experiments VALUES (?, ?, ?)",
                (str(next_id), name, int(time.time() * 1000)),
            )
            return str(next_id)

        created = self._write(create_experiment)
        if created is not None:
            return created
        return self._memory().experiment_id_for(name, create)

    # ----------------------------------------------------------------------------------- reading

    def _read(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """Run a query on the reading connection; no rows while the file or schema is missing.

        Raises:
            StoreError: If the file is not a usable trace store.
        """
        with self._read_lock:
            connection = self._reader
            if connection is None:
                if not os.path.exists(self.path):
                    return []
                connection, version = connect(self.path, read_only=True)
                if version == 0:  # created by a writer that has not committed its schema yet
                    connection.close()
                    return []
                self._reader = connection
            try:
                return connection.execute(sql, parameters).fetchall()
            except sqlite3.DatabaseError as error:
                raise as_store_error(error, self.path) from error

    def get_trace(self, trace_id: str) -> Trace | None:
        """Return the trace with this id, or ``None``."""
        if self._fallback is not None:
            return self._fallback.get_trace(trace_id)
        rows = self._read("SELECT trace_json FROM traces WHERE trace_id = ?", (trace_id,))
        return Trace.from_json(rows[0][0]) if rows else None

    def list_traces(self) -> list[Trace]:
        """Return every stored trace, newest first."""
        if self._fallback is not None:
            return self._fallback.list_traces()
        rows = self._read(
            "SELECT trace_json FROM traces ORDER BY request_time DESC, rowid DESC", ()
        )
        return [Trace.from_json(row[0]) for row in rows]

    def search_traces(self, query: TraceQuery) -> list[Trace]:
        """Run ``query`` as one parameterized SQL statement; only matching traces are decoded."""
        if self._fallback is not None:
            return self._fallback.search_traces(query)
        if query.experiment_ids == ():
            return []
        sql, parameters = select_traces(query)
        return [Trace.from_json(row[0]) for row in self._read(sql, parameters)]

    # --------------------------------------------------------------------------------- lifecycle

    def shutdown(self) -> None:
        """Close both connections (SQLite checkpoints the WAL when the last one closes)."""
        with self._write_lock, self._read_lock:
            # The reader first: the last connection to close removes the WAL and shared-memory
            # files, which a read-only connection may not do; they would be left beside the store.
            for connection in (self._reader, self._writer):
                if connection is not None:
                    connection.close()
            self._writer = self._reader = None

    def reset_after_fork(self) -> None:
        """In a fork child: set the parent's connections aside, take fresh locks."""
        _INHERITED.extend(c for c in (self._writer, self._reader) if c is not None)
        self._writer = self._reader = None
        self._write_lock = allocate_lock()
        self._read_lock = allocate_lock()
        if self._fallback is not None:
            self._fallback.reset_after_fork()

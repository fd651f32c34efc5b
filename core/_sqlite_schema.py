"""The SQLite trace store's file: opening it, its pragmas, and its versioned schema.

The schema version lives in ``PRAGMA user_version``. A file whose version is newer than this code's is
refused with an error naming the file and both versions (an older tracewire must never half-understand
a newer layout); a file that is not an SQLite database, or is one of another application, is refused
too. Imported only when an SQLite destination is first used, never by ``import tracewire``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from tracewire._filter import like

SCHEMA_VERSION = 1
# How long a statement waits for another connection's write lock before SQLite reports "locked".
BUSY_TIMEOUT_S = 10.0

# Each trace is stored whole as its JSON (`Trace.to_json`), plus the columns and key/value tables
# that search filters and ordering use, so that a search never decodes the traces it rejects.
_SCHEMA = (
    """CREATE TABLE experiments (
        experiment_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        creation_time INTEGER NOT NULL
    )""",
    """CREATE TABLE traces (
        trace_id TEXT PRIMARY KEY,
        experiment_id TEXT NOT NULL,
        name TEXT,
        state TEXT NOT NULL,
        request_time INTEGER NOT NULL,
        execution_duration INTEGER,
        client_request_id TEXT,
        trace_json TEXT NOT NULL
    )""",
    "CREATE INDEX traces_by_experiment_time ON traces (experiment_id, request_time)",
    "CREATE INDEX traces_by_time ON traces (request_time)",
    """CREATE TABLE trace_tags (
        trace_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (trace_id, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX trace_tags_by_key_value ON trace_tags (key, value)",
    """CREATE TABLE trace_metadata (
        trace_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (trace_id, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX trace_metadata_by_key_value ON trace_metadata (key, value)",
)

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class StoreError(RuntimeError):
    """The file cannot serve as a trace store: newer schema, not SQLite, corrupt, or foreign."""


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's "another connection holds the lock" (worth retrying)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return (code & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(error)
    return "locked" in text or "busy" in text


def as_store_error(error: sqlite3.DatabaseError, path: str) -> Exception:
    """Turn "not a database" and corruption errors into a :class:`StoreError` naming the file.

    Operational errors (locks, permissions, full disks) are returned unchanged.
    """
    if isinstance(error, sqlite3.OperationalError):
        return error
    return StoreError(
        f"{path} is not a usable tracewire trace store: {error} (it is not an SQLite database, or "
        "it is corrupt). Move it away, or choose another file with tracewire.set_tracking_uri() "
        "or TRACEWIRE_TRACKING_URI"
    )


def _check_version(path: str, version: int) -> None:
    if version <= SCHEMA_VERSION:
        return
    from tracewire import __version__  # noqa: PLC0415 - the package is fully imported by now

    raise StoreError(
        f"{path} holds a tracewire trace store of schema version {version}, newer than version "
        f"{SCHEMA_VERSION} that this tracewire ({__version__}) reads and writes. Upgrade "
        "tracewire, or choose another file with tracewire.set_tracking_uri() or "
        "TRACEWIRE_TRACKING_URI"
    )


def user_version(connection: sqlite3.Connection) -> int:
    """Return the file's schema version (0 for a new, empty file)."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def connect(path: str, *, read_only: bool) -> tuple[sqlite3.Connection, int]:
    """Open the store, configure the connection, and check (for a writer: create) the schema.

    Args:
        path: Absolute path of the database file. A writer creates it and its directory.
        read_only: Open to read: the file must exist, and nothing is written through it.

    Returns:
        The connection (autocommit mode: transactions are explicit) and the schema version, which
        is 0 for a reader that opened a file whose schema is not created yet.

    Raises:
        StoreError: For a newer schema, a non-SQLite or corrupt file, or another application's
            database.
        sqlite3.OperationalError: If the file cannot be opened or written (permissions).
        OSError: If the directory cannot be created.
    """
    if read_only:
        # Read-write but never created: a missing file stays missing, and a reader that closes
        # last may remove the WAL files (a mode=ro connection would leave them beside the store).
        # SQLite falls back to read-only by itself where the file is not writable.
        target, uri = Path(path).as_uri() + "?mode=rw", True
    else:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        target, uri = path, False
    connection = sqlite3.connect(
        target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri
    )
    try:
        version = user_version(connection)
        _check_version(path, version)
        if read_only and version == 0:
            _check_no_foreign_tables(connection, path)
        if not read_only:
            # WAL lets readers work while a writer commits and makes each commit one append;
            # NORMAL sync is safe with WAL (a power cut may lose the last commits, never corrupt).
            connection.execute("PRAGMA journal_mode=WAL").fetchone()
            connection.execute("PRAGMA synchronous=NORMAL")
            if version < SCHEMA_VERSION:
                version = _create_schema(connection, path)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise as_store_error(error, path) from error
    except BaseException:
        connection.close()
        raise
    # LIKE / ILIKE in filters run through the same matcher as the in-memory store.
    connection.create_function("tw_like", 3, like, deterministic=True)
    return connection, version


def _check_no_foreign_tables(connection: sqlite3.Connection, path: str) -> None:
    tables = [
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    if tables:
        raise StoreError(
            f"{path} is an SQLite database of another application (tables: "
            f"{', '.join(sorted(tables)[:5])}); tracewire does not add its tables to it. Choose "
            "another file with tracewire.set_tracking_uri() or TRACEWIRE_TRACKING_URI"
        )


def _create_schema(connection: sqlite3.Connection, path: str) -> int:
    """Create the tables in one write transaction; another process may have just done it."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = user_version(connection)  # re-read under the write lock
        _check_version(path, version)
        if version == 0:
            _check_no_foreign_tables(connection, path)
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO experiments VALUES ('0', 'Default', ?)", (int(time.time() * 1000),)
            )
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION

"""Where traces go: the tracking URI, the destination it names, and the active experiment.

``import tracewire`` builds nothing here: the destination for the tracking URI is built on the first
export or read (:class:`DeferredDestination`), so a program that never traces never creates
``tracewire.db``, and ``sqlite3`` is imported only when an SQLite store is first used.

Accepted URIs: ``memory://``; ``sqlite:///relative.db`` and ``sqlite:////absolute.db``; a bare
filesystem path (a ``str`` without ``://`` or an ``os.PathLike``), meaning an SQLite file; and
``http(s)://host:port`` for an MLflow tracking server. When ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, traces go to that OTLP endpoint *instead* (reads still go to
the tracking URI's store), or to both with ``TRACEWIRE_TRACE_ENABLE_OTLP_DUAL_EXPORT=true``.
"""

from __future__ import annotations

import os
from _thread import allocate_lock

from tracewire._destinations import MemoryDestination, TraceDestination, TracesDropped
from tracewire._errors import warn_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracewire._search import TraceQuery
    from tracewire._trace import Trace

DEFAULT_TRACKING_URI = "sqlite:///tracewire.db"
TRACKING_URI_ENV = "TRACEWIRE_TRACKING_URI"
DUAL_EXPORT_ENV = "TRACEWIRE_TRACE_ENABLE_OTLP_DUAL_EXPORT"
OTLP_ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
ACCEPTED_FORMS = (
    "'memory://', 'sqlite:///relative/path.db', 'sqlite:////absolute/path.db', a filesystem path "
    "of an SQLite file, or 'http(s)://host:port' (an MLflow tracking server)"
)

_uri: str | None = None  # set by set_tracking_uri(); None: the environment variable or the default


def _text(uri: str | os.PathLike[str]) -> str:
    if isinstance(uri, os.PathLike):
        return "sqlite:///" + os.fspath(uri)
    if not isinstance(uri, str):
        raise TypeError(f"a tracking URI is a str or os.PathLike, got {type(uri).__name__}")
    return uri.strip()


def _kind(uri: str) -> tuple[str, str]:
    """Classify a tracking URI as ``("memory" | "sqlite" | "http", location)``.

    Raises:
        ValueError: For an unknown scheme or an empty SQLite path, naming the accepted forms.
    """
    scheme, separator, rest = uri.partition("://")
    if not separator:
        host, colon, port = uri.partition(":")
        if not uri or (colon and port.isdigit() and "/" not in host):  # "localhost:5000"
            raise ValueError(f"invalid tracking URI {uri!r}: use {ACCEPTED_FORMS}")
        return "sqlite", uri  # a bare path of an SQLite file
    scheme = scheme.lower()
    if scheme == "memory" and not rest.strip("/"):
        return "memory", ""
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else ""
        if path and path != ":memory:":
            return "sqlite", path
        raise ValueError(
            f"invalid tracking URI {uri!r}: an SQLite URI names a file, as in "
            "'sqlite:///tracewire.db' (relative) or 'sqlite:////tmp/tracewire.db' (absolute); "
            "use 'memory://' to keep traces in memory"
        )
    if scheme in ("http", "https") and rest:
        return "http", uri
    raise ValueError(f"unsupported tracking URI {uri!r}: use {ACCEPTED_FORMS}")


def _check_server_support() -> None:
    """Fail at ``set_tracking_uri`` time, not on the first export, when the extra is missing."""
    from importlib.util import find_spec  # noqa: PLC0415 - only for http(s) URIs

    if find_spec("opentelemetry") is None or find_spec("opentelemetry.proto") is None:
        raise ImportError(
            "exporting to an MLflow tracking server needs the otlp extra: "
            "pip install 'tracewire[otlp]'"
        )


def build_destination(uri: str) -> TraceDestination:
    """Build the store a tracking URI names (without the OTLP routing).

    Raises:
        ValueError: For an unsupported URI.
        ImportError: For an ``http(s)`` URI without the ``tracewire[otlp]`` extra.
    """
    kind, location = _kind(uri)
    if kind == "memory":
        return MemoryDestination()
    if kind == "sqlite":
        from tracewire._sqlite_store import SqliteDestination  # noqa: PLC0415 - loads sqlite3

        return SqliteDestination(location)
    # Deferred: it pulls in the HTTP machinery only a server destination needs.
    from tracewire._mlflow_server import MlflowServerDestination  # noqa: PLC0415

    return MlflowServerDestination(location)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _otlp_destination() -> TraceDestination | None:
    """The OTLP exporter the ``OTEL_EXPORTER_OTLP_*`` variables ask for, if any and available."""
    if not any(os.environ.get(name, "").strip() for name in OTLP_ENDPOINT_ENVS):
        return None
    from importlib import import_module  # noqa: PLC0415 - not needed by `import tracewire`

    try:
        otlp = import_module("tracewire._otlp_destination")
    except ImportError as error:
        warn_once(
            "otlp-unavailable",
            "an OTLP endpoint is set (OTEL_EXPORTER_OTLP_*ENDPOINT) but tracewire cannot export "
            "over OTLP (%s; install 'tracewire[otlp]'); traces go to the tracking URI only",
            error,
        )
        return None
    destination: TraceDestination | None = otlp.otlp_destination_from_environment()
    return destination


def resolve_destination(uri: str) -> TraceDestination:
    """Build what a tracking URI plus the OTLP variables ask for.

    Without an OTLP endpoint this is the URI's store. With one, the OTLP exporter replaces it for
    writes (reads still go to the store), or both receive every trace when
    ``TRACEWIRE_TRACE_ENABLE_OTLP_DUAL_EXPORT`` is true.
    """
    store = build_destination(uri)
    otlp = _otlp_destination()
    if otlp is None:
        return store
    writers = [store, otlp] if _env_flag(DUAL_EXPORT_ENV) else [otlp]
    return FanOutDestination(writers, reader=store)


class FanOutDestination(TraceDestination):
    """Sends every trace to several destinations; reads, deletes and experiments go to one.

    Args:
        writers: Each receives every exported batch, in order; one failing does not stop the rest.
        reader: Answers reads, deletes and experiment lookups (usually also a writer).
    """

    def __init__(self, writers: Sequence[TraceDestination], reader: TraceDestination) -> None:
        self.writers = tuple(writers)
        self.reader = reader

    def export(self, traces: Sequence[Trace]) -> None:
        """Export to every writer; once all have had the batch, re-raise what went wrong.

        An unexpected error wins over counted drops; of several writers' drops, the largest count
        is raised (the traces some writer lost).
        """
        failure: Exception | None = None
        dropped = 0
        for writer in self.writers:
            try:
                writer.export(traces)
            except TracesDropped as drop:
                dropped = max(dropped, drop.count)
            except Exception as error:  # noqa: BLE001 - the other writers must still get the batch
                failure = failure or error
        if failure is not None:
            raise failure
        if dropped:
            raise TracesDropped(dropped)

    def get_trace(self, trace_id: str) -> Trace | None:
        """Read from the reader."""
        return self.reader.get_trace(trace_id)

    def list_traces(self) -> list[Trace]:
        """Read from the reader."""
        return self.reader.list_traces()

    def search_traces(self, query: TraceQuery) -> list[Trace]:
        """Search the reader."""
        return self.reader.search_traces(query)

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete from the reader."""
        return self.reader.delete_traces(trace_ids)

    def experiment_id_for(self, name: str, create: bool = True) -> str:
        """Resolve through the reader."""
        return self.reader.experiment_id_for(name, create)

    def _all(self) -> list[TraceDestination]:
        return list({id(d): d for d in (*self.writers, self.reader)}.values())

    def shutdown(self) -> None:
        """Shut every destination down once."""
        for destination in self._all():
            destination.shutdown()

    def reset_after_fork(self) -> None:
        """Reset every destination once."""
        for destination in self._all():
            destination.reset_after_fork()


class DeferredDestination(TraceDestination):
    """Stands in for the tracking URI's destination until the first export or read builds it.

    A URI that cannot be used (a bad ``TRACEWIRE_TRACKING_URI``) is logged once and replaced by an
    in-memory store, so a configuration mistake never breaks the traced program.

    Args:
        uri: The tracking URI; ``None`` reads :func:`get_tracking_uri` when first used.
    """

    def __init__(self, uri: str | None = None) -> None:
        self.uri = uri
        self._target: TraceDestination | None = None
        self._lock = allocate_lock()

    def resolve(self) -> TraceDestination:
        """Return the real destination, building it on first call."""
        target = self._target
        if target is None:
            with self._lock:
                if self._target is None:
                    uri = self.uri or get_tracking_uri()
                    try:
                        self._target = resolve_destination(uri)
                    except (ValueError, ImportError) as error:
                        warn_once(
                            f"tracking-uri:{uri}",
                            "tracewire cannot use tracking URI %r (%s); traces are kept in "
                            "memory instead",
                            uri,
                            error,
                        )
                        self._target = MemoryDestination()
                target = self._target
        return target

    def export(self, traces: Sequence[Trace]) -> None:
        """Export to the real destination."""
        self.resolve().export(traces)

    def get_trace(self, trace_id: str) -> Trace | None:
        """Read from the real destination."""
        return self.resolve().get_trace(trace_id)

    def list_traces(self) -> list[Trace]:
        """Read from the real destination."""
        return self.resolve().list_traces()

    def search_traces(self, query: TraceQuery) -> list[Trace]:
        """Search the real destination."""
        return self.resolve().search_traces(query)

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete from the real destination."""
        return self.resolve().delete_traces(trace_ids)

    def experiment_id_for(self, name: str, create: bool = True) -> str:
        """Resolve through the real destination."""
        return self.resolve().experiment_id_for(name, create)

    def shutdown(self) -> None:
        """Shut the real destination down, if it was ever built."""
        if self._target is not None:
            self._target.shutdown()

    def reset_after_fork(self) -> None:
        """Take a fresh lock and reset the real destination, if built."""
        self._lock = allocate_lock()
        if self._target is not None:
            self._target.reset_after_fork()


def get_tracking_uri() -> str:
    """Return the tracking URI: the one set last, else ``TRACEWIRE_TRACKING_URI``, else the default.

    The default is ``sqlite:///tracewire.db``, a file in the working directory of the moment the
    store is first used.
    """
    if _uri is not None:
        return _uri
    return os.environ.get(TRACKING_URI_ENV, "").strip() or DEFAULT_TRACKING_URI


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Send traces finished from now on to the store or server ``uri`` names.

    Traces already finished are flushed to the previous destination first. The new destination is
    built on the first export or read; an active experiment set by name is looked up again there.

    Args:
        uri: ``memory://``, ``sqlite:///relative.db``, ``sqlite:////absolute.db``, a filesystem
            path of an SQLite file, or ``http(s)://host:port`` (an MLflow tracking server).

    Raises:
        ValueError: For an unsupported URI; the message lists the accepted forms.
        ImportError: For an ``http(s)`` URI without the ``tracewire[otlp]`` extra.
    """
    global _uri
    text = _text(uri)
    kind, _ = _kind(text)
    if kind == "http":
        _check_server_support()
    from tracewire._experiments import on_tracking_uri_changed  # noqa: PLC0415 - import cycle
    from tracewire._export import set_destination  # noqa: PLC0415 - import cycle

    _uri = text
    set_destination(DeferredDestination(text))
    on_tracking_uri_changed()


def reset_tracking_uri() -> None:
    """Forget the URI set by :func:`set_tracking_uri` (tests); the destination is left as is."""
    global _uri
    _uri = None

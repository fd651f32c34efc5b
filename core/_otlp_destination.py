"""Export to any OTLP/HTTP collector (Phoenix, Jaeger, Langfuse, Logfire, an OpenTelemetry Collector).

Configured by the standard OpenTelemetry variables, read by :func:`otlp_destination_from_environment`:

* ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as it is), else ``OTEL_EXPORTER_OTLP_ENDPOINT`` plus
  ``/v1/traces``;
* ``OTEL_EXPORTER_OTLP_HEADERS`` and ``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` (``key=value`` pairs, comma
  separated, values URL-encoded; the traces variable wins key by key);
* ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` / ``OTEL_EXPORTER_OTLP_TIMEOUT`` in milliseconds, as the
  specification says (default 10 s);
* ``OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`` / ``OTEL_EXPORTER_OTLP_COMPRESSION``: ``gzip`` or ``none``;
* ``OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`` / ``OTEL_EXPORTER_OTLP_CERTIFICATE`` (a CA bundle) and
  the ``..._CLIENT_CERTIFICATE`` / ``..._CLIENT_KEY`` pair for mutual TLS;
* ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` for the resource.

The body is protobuf (``application/x-protobuf``), the one encoding both MLflow and Phoenix accept.
The destination only sends: nothing can be read back from a collector through it.

Why stdlib ``urllib`` and not the ``opentelemetry-exporter-otlp-proto-http`` package: that exporter
takes OpenTelemetry SDK spans (the SDK and ``requests`` would become dependencies) and has its own
retry and logging policy, which logs every failure; ours must count drops and warn once. The messages
themselves come from the OpenTelemetry project's ``opentelemetry-proto`` package.
"""

from __future__ import annotations

import os

from tracewire._destinations import TraceDestination, TracesDropped
from tracewire._errors import log, warn_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping, Sequence

    from tracewire._http_export import RetryPolicy
    from tracewire._trace import Trace

_TRACES_PATH = "v1/traces"
_INSTALL_HINT = "OTLP export needs the otlp extra: pip install 'tracewire[otlp]'"


def _env(name: str) -> str:
    """``OTEL_EXPORTER_OTLP_TRACES_<name>``, else ``OTEL_EXPORTER_OTLP_<name>``, else ``""``."""
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}", "").strip()
    return value or os.environ.get(f"OTEL_EXPORTER_OTLP_{name}", "").strip()


def endpoint_from_environment() -> str | None:
    """The traces URL the OpenTelemetry variables name, or ``None`` when none is set."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if endpoint:
        return endpoint
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not base:
        return None
    return base if base.endswith("/" + _TRACES_PATH) else f"{base.rstrip('/')}/{_TRACES_PATH}"


def parse_headers(text: str) -> dict[str, str]:
    """Read ``key1=value1,key2=value2`` (values URL-encoded), skipping malformed pairs with a warning."""
    from urllib.parse import unquote  # noqa: PLC0415 - a destination is being configured

    headers = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            warn_once(
                "otlp-header", "ignoring malformed OTLP header entry %r (want key=value)", pair
            )
            continue
        headers[unquote(key.strip())] = unquote(value.strip())
    return headers


def _ssl_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext | None:
    if not (ca_file or cert_file):
        return None
    import ssl  # noqa: PLC0415 - only for TLS settings

    context = ssl.create_default_context(cafile=ca_file or None)
    if cert_file:
        context.load_cert_chain(cert_file, key_file or None)
    return context


class OtlpDestination(TraceDestination):
    """Sends finished traces to an OTLP/HTTP endpoint as protobuf, on the export thread.

    Failed requests are retried (see :mod:`tracewire._http_export`); a batch that still fails is
    dropped, counted in :attr:`dropped_traces` and the exporter's ``dropped``, and reported by one
    warning per endpoint.

    Args:
        endpoint: The full traces URL, e.g. ``http://127.0.0.1:6006/v1/traces``.
        headers: Extra request headers (authentication, ``x-project-name`` for Phoenix, ...).
        timeout: Seconds one request may take; defaults to ``TRACEWIRE_EXPORT_TIMEOUT`` or 10.
        compression: ``"gzip"`` to compress bodies; ``None`` or ``"none"`` not to.
        ssl_context: TLS settings for an ``https`` endpoint.
        policy: Retry settings; defaults to the ``TRACEWIRE_EXPORT_*`` variables.

    Raises:
        ImportError: ``opentelemetry-proto`` is not installed.
        ValueError: The endpoint is not an http(s) URL, or the compression is unknown.
    """

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
        compression: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        try:
            from tracewire import _otlp  # noqa: PLC0415 - the protobuf classes load only here
        except ImportError as error:
            raise ImportError(f"{_INSTALL_HINT} ({error})") from error
        from tracewire._http_export import HttpSender, RetryPolicy  # noqa: PLC0415

        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"OTLP endpoint must be an http:// or https:// URL, got {endpoint!r}")
        compression = (compression or "none").lower()
        if compression not in ("gzip", "none"):
            raise ValueError(f"OTLP compression must be 'gzip' or 'none', got {compression!r}")
        self.endpoint = endpoint
        self.compression = compression
        self._headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": "tracewire/" + _otlp.SCOPE_VERSION,
            **dict(headers or {}),
        }
        if compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._resource = _otlp.resource_attributes()
        self._ssl_context = ssl_context
        self._sender = HttpSender(policy or RetryPolicy.from_environment(timeout), ssl_context)
        self.exported_traces = 0
        self.dropped_traces = 0
        self.rejected_spans = 0

    @classmethod
    def from_environment(cls) -> OtlpDestination:
        """Build the destination the ``OTEL_EXPORTER_OTLP_*`` variables describe.

        Raises:
            ValueError: No endpoint variable is set, or a setting is invalid.
            ImportError: ``opentelemetry-proto`` is not installed.
        """
        endpoint = endpoint_from_environment()
        if endpoint is None:
            raise ValueError(
                "set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT"
            )
        headers = parse_headers(os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
        headers.update(parse_headers(os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "")))
        timeout_ms = _env("TIMEOUT")
        try:
            timeout = float(timeout_ms) / 1000 if timeout_ms else None
        except ValueError:
            raise ValueError(f"OTLP timeout must be milliseconds, got {timeout_ms!r}") from None
        context = _ssl_context(_env("CERTIFICATE"), _env("CLIENT_CERTIFICATE"), _env("CLIENT_KEY"))
        return cls(
            endpoint,
            headers,
            timeout=timeout,
            compression=_env("COMPRESSION") or None,
            ssl_context=context,
        )

    def export(self, traces: Sequence[Trace]) -> None:
        """Send ``traces`` in one request; retry, or drop and count them.

        Raises:
            TracesDropped: The batch could not be delivered.
        """
        from tracewire import _otlp  # noqa: PLC0415 - loaded by __init__
        from tracewire._http_export import DeliveryError, report_drop  # noqa: PLC0415

        body = _otlp.to_request(traces, self._resource).SerializeToString()
        if self.compression == "gzip":
            import gzip  # noqa: PLC0415 - only when compression is asked for

            body = gzip.compress(body)
        try:
            response = self._sender.send("POST", self.endpoint, body, self._headers)
        except DeliveryError as error:
            self.dropped_traces += len(traces)
            report_drop(self.endpoint, len(traces), error)
            raise TracesDropped(len(traces)) from None
        self.exported_traces += len(traces)
        rejected, message = _otlp.rejected_spans(response.body)
        if rejected:
            self.rejected_spans += rejected
            warn_once(
                f"otlp-rejected:{self.endpoint}",
                "the OTLP endpoint %s rejected %d spans: %s",
                self.endpoint,
                rejected,
                message,
            )

    def _unreadable(self) -> None:
        warn_once(
            f"otlp-read:{self.endpoint}",
            "this destination cannot be read; traces are sent to the OTLP endpoint %s. Look them "
            "up in that backend, or use a readable tracking URI (sqlite:///..., memory:// or an "
            "MLflow server)",
            self.endpoint,
        )

    def get_trace(self, trace_id: str) -> Trace | None:
        """Return ``None``: an OTLP collector cannot be read through this destination (one warning)."""
        self._unreadable()
        return None

    def list_traces(self) -> list[Trace]:
        """Return ``[]``: an OTLP collector cannot be read through this destination (one warning)."""
        self._unreadable()
        return []

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete nothing and return 0: a collector's traces are managed in that backend."""
        self._unreadable()
        return 0

    def shutdown(self) -> None:
        """Stop retrying: a request in progress finishes, later failures drop at once."""
        self._sender.stop()

    def reset_after_fork(self) -> None:
        """Use a fresh sender: the parent's may be mid-wait on a lock."""
        from tracewire._http_export import HttpSender  # noqa: PLC0415 - loaded by __init__

        self._sender = HttpSender(self._sender.policy, self._ssl_context)

    def __repr__(self) -> str:
        return f"OtlpDestination({self.endpoint!r})"


def otlp_destination_from_environment() -> TraceDestination | None:
    """The OTLP destination the ``OTEL_EXPORTER_OTLP_*`` variables ask for, or ``None``.

    ``None`` also when it cannot be had: the endpoint asks for gRPC (only ``http/protobuf`` is
    supported), the ``otlp`` extra is not installed, or a setting is invalid; each is one warning.
    """
    if endpoint_from_environment() is None:
        return None
    protocol = _env("PROTOCOL") or "http/protobuf"
    if protocol == "grpc":
        warn_once(
            "otlp-grpc",
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported; tracewire exports OTLP over "
            "http/protobuf only (usually port 4318). OTLP export is off",
        )
        return None
    if protocol != "http/protobuf":
        log().debug("OTLP protocol %r requested; sending http/protobuf", protocol)
    try:
        return OtlpDestination.from_environment()
    except (ImportError, ValueError, OSError) as error:
        warn_once("otlp-config", "OTLP export is off: %s", error)
        return None

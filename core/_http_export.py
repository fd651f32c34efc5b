"""HTTP delivery shared by the network destinations (OTLP collectors, MLflow tracking servers).

Everything here runs on the background export thread, except the single-attempt reads an MLflow
destination makes when the user asks for traces. A failed request is retried with exponential backoff
on connection errors, timeouts, HTTP 429 and 5xx (a ``Retry-After`` header is honoured); any other
status is final. Retries stop at the retry limit, at the time limit, or when the process exits: at
exit each queued batch gets one attempt, so the exit flush finishes promptly even with the backend
down. The caller of :meth:`HttpSender.send` decides what a final failure costs (a counted drop).

Knobs (environment variables, read when a destination is created):

* ``TRACEWIRE_EXPORT_RETRIES``: retries after the first attempt (default 4).
* ``TRACEWIRE_EXPORT_BACKOFF``: seconds before the first retry, doubled for each next one, at most
  8 s, with jitter (default 0.5).
* ``TRACEWIRE_EXPORT_RETRY_TIMEOUT``: seconds one request may spend on retries and waits (default
  15); no retry starts after that.
* ``TRACEWIRE_EXPORT_TIMEOUT``: seconds one request may take (default 10; the OTLP destination lets
  ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT``/``OTEL_EXPORTER_OTLP_TIMEOUT``, in milliseconds, win).

Requests go through ``urllib``, so the usual ``HTTPS_PROXY``/``NO_PROXY`` variables apply.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from typing import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    import urllib.request
    from collections.abc import Mapping
    from email.message import Message

_RETRIES = 4
_BACKOFF_S = 0.5
_RETRY_TIMEOUT_S = 15.0
_TIMEOUT_S = 10.0
_MAX_BACKOFF_S = 8.0
_MIN_ATTEMPT_S = 0.05  # below this much time left, another attempt cannot succeed
_SENDERS: weakref.WeakSet[HttpSender] = weakref.WeakSet()


def _env_number(name: str, default: float, minimum: float = 0.0) -> float:
    """A non-negative number from the environment; a bad value falls back to the default."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        from tracewire._errors import warn_once  # noqa: PLC0415 - rare path

        warn_once(f"env:{name}", "ignoring %s=%r: not a number; using %s", name, text, default)
        return default
    return max(minimum, value)


class RetryPolicy(NamedTuple):
    """How hard a network destination tries before it drops a batch.

    Attributes:
        retries: Retries after the first attempt.
        backoff: Seconds before the first retry; doubled for each next one (at most 8 s).
        max_time: Seconds one request may spend in total; no retry starts after that.
        timeout: Seconds one request may take.
    """

    retries: int = _RETRIES
    backoff: float = _BACKOFF_S
    max_time: float = _RETRY_TIMEOUT_S
    timeout: float = _TIMEOUT_S

    @classmethod
    def from_environment(cls, timeout: float | None = None) -> RetryPolicy:
        """Read the ``TRACEWIRE_EXPORT_*`` variables (see the module docstring).

        Args:
            timeout: The request timeout to use instead of ``TRACEWIRE_EXPORT_TIMEOUT``.
        """
        return cls(
            retries=int(_env_number("TRACEWIRE_EXPORT_RETRIES", _RETRIES)),
            backoff=_env_number("TRACEWIRE_EXPORT_BACKOFF", _BACKOFF_S),
            max_time=_env_number("TRACEWIRE_EXPORT_RETRY_TIMEOUT", _RETRY_TIMEOUT_S),
            timeout=timeout or _env_number("TRACEWIRE_EXPORT_TIMEOUT", _TIMEOUT_S, 0.001),
        )


class Response(NamedTuple):
    """An HTTP response, whatever its status; header names are lower-cased."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def text(self, limit: int = 300) -> str:
        """The start of the body as text, for error messages."""
        return self.body[:limit].decode("utf-8", errors="replace").strip()


class DeliveryError(Exception):
    """A request failed for good: a final status, or every retry failed.

    Attributes:
        attempts: How many attempts were made.
        response: The last response, when the server answered.
    """

    def __init__(self, message: str, attempts: int, response: Response | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.response = response


def _retryable(status: int) -> bool:
    # 501 (MLflow's file store cannot log spans) never heals by itself.
    return status == 429 or (500 <= status < 600 and status != 501)


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None or not value.strip().isdigit():
        return None  # the HTTP-date form is rare from collectors; backoff applies instead
    return float(value.strip())


class HttpSender:
    """Sends HTTP requests with the retry policy; one per destination.

    Args:
        policy: Retries, backoff and time limits.
        ssl_context: TLS settings for ``https`` URLs (default: the system's trust store).
    """

    def __init__(self, policy: RetryPolicy, ssl_context: ssl.SSLContext | None = None) -> None:
        import urllib.request  # noqa: PLC0415 - a destination is being created: network code is due

        handlers: list[urllib.request.BaseHandler] = []
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)
        self.policy = policy
        self._stop = threading.Event()  # set at shutdown and at exit: no more retries or waits
        _SENDERS.add(self)

    def fetch(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Make one attempt and return the response, whatever its status.

        Raises:
            OSError: The connection failed or timed out.
            http.client.HTTPException: The server's answer was not valid HTTP.
        """
        import urllib.error  # noqa: PLC0415 - loaded with urllib.request in __init__
        import urllib.request  # noqa: PLC0415

        request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
        try:
            with self._opener.open(request, timeout=timeout or self.policy.timeout) as answer:
                return Response(answer.status, _headers(answer.headers), answer.read())
        except urllib.error.HTTPError as error:  # a non-2xx status: an answer, not a failure here
            try:
                error_body = error.read()
            except OSError:
                error_body = b""
            finally:
                error.close()
            return Response(error.code, _headers(error.headers), error_body)

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        retry: bool = True,
    ) -> Response:
        """Send a request, retrying transient failures, and return the successful (2xx) response.

        Args:
            method: The HTTP method.
            url: The URL.
            body: The request body.
            headers: Request headers.
            retry: ``False`` for a single attempt (a destination passes it for the rest of a batch
                once one request of that batch has failed for good).

        Raises:
            DeliveryError: A final status, or the last retry failed.
        """
        from http.client import HTTPException  # noqa: PLC0415 - loaded by urllib already

        policy = self.policy
        deadline = time.monotonic() + policy.max_time
        attempts = 0
        while True:
            attempts += 1
            response = None
            # The first attempt gets the full timeout; retries only what the time limit leaves.
            timeout = policy.timeout
            if attempts > 1:
                timeout = min(timeout, max(deadline - time.monotonic(), _MIN_ATTEMPT_S))
            try:
                response = self.fetch(method, url, body, headers, timeout)
            except (OSError, HTTPException) as error:
                reason = f"{type(error).__name__}: {error}"
                wait = None
            else:
                if 200 <= response.status < 300:
                    return response
                reason = f"HTTP {response.status}: {response.text()}"
                if not _retryable(response.status):
                    raise DeliveryError(reason, attempts, response)
                wait = _retry_after(response)
            if not retry or attempts > policy.retries or self._stop.is_set():
                raise DeliveryError(reason, attempts, response)
            if wait is None:
                wait = min(policy.backoff * 2 ** (attempts - 1), _MAX_BACKOFF_S)
                wait *= 0.75 + 0.5 * _random()  # jitter: processes that failed together spread out
            if time.monotonic() + wait + _MIN_ATTEMPT_S > deadline:
                raise DeliveryError(f"{reason} (retry time limit reached)", attempts, response)
            if self._stop.wait(wait):
                raise DeliveryError(f"{reason} (stopped at shutdown)", attempts, response)

    def stop(self) -> None:
        """Stop retrying: a request in progress finishes, later failures are final at once."""
        self._stop.set()


def report_drop(target: str, count: int, error: DeliveryError) -> None:
    """Log one warning per target for lost traces; later drops are logged at debug level."""
    from tracewire._errors import warn_once  # noqa: PLC0415 - only when traces are lost

    warn_once(
        f"export-drop:{target}",
        "tracewire could not deliver %d traces to %s after %d attempts (%s); they are dropped. "
        "Later drops to it are counted without another warning",
        count,
        target,
        error.attempts,
        error,
    )


def _headers(message: Message) -> dict[str, str]:
    return {key.lower(): value for key, value in message.items()}


def _random() -> float:
    import random  # noqa: PLC0415 - only after a failure

    return random.random()


def _stop_all_at_exit() -> None:
    # Registered when the first network destination is created, i.e. after the exporter's own exit
    # handler; atexit runs handlers last-in first-out, so this runs before the exit flush does.
    for sender in list(_SENDERS):
        sender.stop()


atexit.register(_stop_all_at_exit)

"""An MLflow tracking server (``http(s)://host:port``) as the trace destination, for writes and reads.

Spans go over OTLP/HTTP to ``<uri>/v1/traces`` (MLflow 3.4+ servers) with the trace's experiment in
the ``x-mlflow-experiment-id`` header; the server builds the trace from them (state, times, previews,
token usage, tags, session and user). What OTLP cannot carry (the client request id, the user's trace
metadata, a state or preview set by the user) follows in MLflow's own ``StartTraceV3`` REST call,
only for the traces that have such data; the server merges it into the trace in either order.

Reads (``get_trace``, ``search_traces``, ``delete_traces``) go to the server's REST API on the
caller's thread, one attempt each; writes run on the export thread with retries and counted drops.

Authentication and TLS follow MLflow's variables: ``MLFLOW_TRACKING_TOKEN`` (bearer), or
``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD`` (basic), ``MLFLOW_TRACKING_INSECURE_TLS``
and ``MLFLOW_TRACKING_SERVER_CERT_PATH``.
"""

from __future__ import annotations

import os
from _thread import allocate_lock

from tracewire._destinations import TraceDestination, TracesDropped
from tracewire._errors import warn_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping, Sequence
    from typing import Any

    from tracewire._http_export import RetryPolicy
    from tracewire._trace import Trace

_OTLP_PATH = "/v1/traces"
_TRACES_API = "/api/3.0/mlflow/traces"
_EXPERIMENTS_API = "/api/2.0/mlflow/experiments"
_BATCH_GET_SIZE = 10  # trace ids per batchGet request, as MLflow's client does
_PAGE_SIZE = 500


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = (
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    if user and password:
        import base64  # noqa: PLC0415 - only with basic auth

        credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {credentials}"}
    return {}


def _ssl_context() -> ssl.SSLContext | None:
    insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true")
    ca_file = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    if not insecure and not ca_file:
        return None
    import ssl  # noqa: PLC0415 - only for TLS settings

    if insecure:
        return ssl._create_unverified_context()
    return ssl.create_default_context(cafile=ca_file)


class MlflowServerDestination(TraceDestination):
    """Sends traces to an MLflow tracking server and reads them back from it.

    Args:
        uri: The tracking URI, ``http(s)://host:port`` (a path prefix is kept).
        policy: Retry settings for exports; defaults to the ``TRACEWIRE_EXPORT_*`` variables.

    Raises:
        ImportError: ``opentelemetry-proto`` is not installed (the ``otlp`` extra).
        ValueError: ``uri`` is not an http(s) URL.
    """

    def __init__(self, uri: str, *, policy: RetryPolicy | None = None) -> None:
        try:
            from tracewire import _otlp  # noqa: PLC0415 - the protobuf classes load only here
        except ImportError as error:
            raise ImportError(
                "exporting to an MLflow tracking server needs the otlp extra: "
                f"pip install 'tracewire[otlp]' ({error})"
            ) from error
        from tracewire._http_export import HttpSender, RetryPolicy  # noqa: PLC0415

        if not uri.startswith(("http://", "https://")):
            raise ValueError(f"an MLflow tracking URI must be http:// or https://, got {uri!r}")
        self.uri = uri.rstrip("/")
        self._headers = {"User-Agent": "tracewire/" + _otlp.SCOPE_VERSION, **_auth_headers()}
        # No default service.name: the server turns resource attributes into trace tags.
        self._resource = _otlp.resource_attributes(default_service_name=None)
        self._ssl_context = _ssl_context()
        self._sender = HttpSender(policy or RetryPolicy.from_environment(), self._ssl_context)
        self._experiments: dict[str, str] = {}  # name -> id, resolved once
        self._lock = allocate_lock()
        self.exported_traces = 0
        self.dropped_traces = 0
        self.incomplete_traces = 0  # spans stored, but the trace info call failed

    def __repr__(self) -> str:
        return f"MlflowServerDestination({self.uri!r})"

    # --- experiments ----------------------------------------------------------------------------

    def experiment_id_for(self, name: str, create: bool = True) -> str:
        """Return the id of the experiment called ``name``, creating it if needed and allowed.

        Args:
            name: The experiment name.
            create: Create the experiment when the server has none of that name.

        Returns:
            The experiment id (numeric text).

        Raises:
            KeyError: No such experiment and ``create`` is false (the destination interface's rule).
            ValueError: The experiment was deleted.
            ConnectionError: The server cannot be reached.
            RuntimeError: The server answered with an unexpected error.
        """
        with self._lock:
            known = self._experiments.get(name)
        if known is not None:
            return known
        found = self._call(
            "GET", f"{_EXPERIMENTS_API}/get-by-name", params={"experiment_name": name}
        )
        if found is None:
            if not create:
                raise KeyError(f"no experiment named {name!r} on the MLflow server {self.uri}")
            created = self._call(
                "POST", f"{_EXPERIMENTS_API}/create", {"name": name}, exists_ok=True
            )
            if created is not None and "experiment_id" in created:
                experiment_id = str(created["experiment_id"])
            else:  # another process created it between our two calls
                return self.experiment_id_for(name, create=False)
        else:
            experiment = found.get("experiment") or {}
            if experiment.get("lifecycle_stage") == "deleted":
                raise ValueError(
                    f"the experiment {name!r} on {self.uri} is deleted; restore it in MLflow or "
                    "use another name"
                )
            experiment_id = str(experiment["experiment_id"])
        with self._lock:
            self._experiments[name] = experiment_id
        return experiment_id

    # --- export ---------------------------------------------------------------------------------

    def export(self, traces: Sequence[Trace]) -> None:
        """Send the spans of ``traces`` over OTLP, then the trace info of those that need it.

        Raises:
            TracesDropped: Some traces could not be delivered (after retries).
        """
        from tracewire import _mlflow_rest, _otlp  # noqa: PLC0415 - loaded by __init__
        from tracewire._http_export import DeliveryError, report_drop  # noqa: PLC0415

        by_experiment: dict[str, list[Trace]] = {}
        for trace in traces:
            by_experiment.setdefault(trace.info.experiment_id, []).append(trace)
        dropped = 0
        retry = True  # once a request failed for good, the rest of the batch gets one attempt
        for experiment_id, group in by_experiment.items():
            body = _otlp.to_request(group, self._resource).SerializeToString()
            headers = {
                **self._headers,
                "Content-Type": "application/x-protobuf",
                "x-mlflow-experiment-id": experiment_id,
            }
            try:
                self._sender.send("POST", self.uri + _OTLP_PATH, body, headers, retry=retry)
            except DeliveryError as error:
                retry = False
                dropped += len(group)
                report_drop(f"{self.uri} (experiment {experiment_id})", len(group), error)
                continue
            self.exported_traces += len(group)
            for trace in group:
                root = _otlp.root_span(trace.data.spans)
                if not _mlflow_rest.needs_trace_info(trace, root):
                    continue
                if not retry:
                    self.incomplete_traces += 1
                    continue
                try:
                    self._send_json(_TRACES_API, _mlflow_rest.trace_info_body(trace))
                except DeliveryError as error:
                    retry = False
                    self.incomplete_traces += 1
                    warn_once(
                        f"mlflow-trace-info:{self.uri}",
                        "tracewire stored the spans of trace %s on %s but could not send its "
                        "metadata, tags and client request id (%s); later failures are counted "
                        "in incomplete_traces without another warning",
                        trace.trace_id,
                        self.uri,
                        error,
                    )
        self.dropped_traces += dropped
        if dropped:
            raise TracesDropped(dropped)

    def _send_json(self, path: str, payload: Mapping[str, Any]) -> None:
        import json  # noqa: PLC0415 - export thread

        headers = {**self._headers, "Content-Type": "application/json"}
        self._sender.send("POST", self.uri + path, json.dumps(payload).encode(), headers)

    # --- reads ----------------------------------------------------------------------------------

    def get_trace(self, trace_id: str) -> Trace | None:
        """Return the trace with this id from the server, or ``None`` if it has none."""
        from tracewire._mlflow_rest import trace_from_json  # noqa: PLC0415 - read path

        answer = self._call(
            "GET", f"{_TRACES_API}/get", params={"trace_id": trace_id, "allow_partial": "true"}
        )
        return None if answer is None else trace_from_json(answer["trace"])

    def list_traces(self) -> list[Trace]:
        """Return every trace on the server (all active experiments), newest first."""
        return self._search(None, None, None, None)

    def search_traces(self, query: Any) -> list[Trace]:
        """Search on the server: ``query.filter_string`` uses MLflow's own filter syntax.

        Args:
            query: Has ``filter_string``, ``experiment_ids``, ``order_by`` and ``max_results``.
                ``experiment_ids=None`` searches every active experiment on the server; an empty
                sequence matches nothing.

        Returns:
            The matching traces with their spans, in the server's order (newest first by default).

        Raises:
            ValueError: The server rejected the filter or the ordering.
        """
        experiment_ids = query.experiment_ids
        return self._search(
            query.filter_string,
            None if experiment_ids is None else [str(e) for e in experiment_ids],
            list(query.order_by or []) or None,
            query.max_results,
        )

    def _search(
        self,
        filter_string: str | None,
        experiment_ids: list[str] | None,
        order_by: list[str] | None,
        max_results: int | None,
    ) -> list[Trace]:
        from tracewire._trace import TraceInfo  # noqa: PLC0415 - read path

        if experiment_ids is None:
            experiment_ids = self._all_experiment_ids()
        if not experiment_ids:
            return []
        locations = [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": str(e)}}
            for e in experiment_ids
        ]
        infos: list[TraceInfo] = []
        page_token = None
        while max_results is None or len(infos) < max_results:
            payload: dict[str, Any] = {
                "locations": locations,
                "max_results": min(_PAGE_SIZE, (max_results or _PAGE_SIZE) - len(infos)),
            }
            for key, value in (("filter", filter_string), ("order_by", order_by)):
                if value:
                    payload[key] = value
            if page_token:
                payload["page_token"] = page_token
            answer = self._call("POST", f"{_TRACES_API}/search", payload, bad_request=ValueError)
            answer = answer or {}
            infos.extend(TraceInfo.from_dict(info) for info in answer.get("traces") or [])
            page_token = answer.get("next_page_token")
            if not page_token:
                break
        return self._with_spans(infos)

    def _all_experiment_ids(self) -> list[str]:
        """The ids of every active experiment (the search API needs them listed)."""
        ids: list[str] = []
        page_token = None
        while True:
            payload: dict[str, Any] = {"max_results": 1000, "view_type": "ACTIVE_ONLY"}
            if page_token:
                payload["page_token"] = page_token
            answer = self._call("POST", f"{_EXPERIMENTS_API}/search", payload) or {}
            ids.extend(str(e["experiment_id"]) for e in answer.get("experiments") or [])
            page_token = answer.get("next_page_token")
            if not page_token:
                return ids

    def _with_spans(self, infos: list[Any]) -> list[Trace]:
        """The full traces of ``infos``, in the same order (spans fetched ten at a time)."""
        from tracewire._mlflow_rest import trace_from_json  # noqa: PLC0415 - read path

        by_id: dict[str, Trace] = {}
        ids = [info.trace_id for info in infos]
        for start in range(0, len(ids), _BATCH_GET_SIZE):
            chunk = ids[start : start + _BATCH_GET_SIZE]
            answer = self._call("GET", f"{_TRACES_API}/batchGet", params={"trace_ids": chunk})
            for data in (answer or {}).get("traces") or []:
                trace = trace_from_json(data)
                by_id[trace.trace_id] = trace
        return [by_id[trace_id] for trace_id in ids if trace_id in by_id]

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete traces by id on the server; return how many it deleted."""
        by_experiment: dict[str, list[str]] = {}
        for trace_id in trace_ids:
            answer = self._call("GET", f"{_TRACES_API}/{trace_id}")
            if answer is None:
                continue
            location = answer["trace"]["trace_info"].get("trace_location") or {}
            experiment_id = (location.get("mlflow_experiment") or {}).get("experiment_id")
            by_experiment.setdefault(str(experiment_id), []).append(trace_id)
        deleted = 0
        for experiment_id, ids in by_experiment.items():
            answer = self._call(
                "POST",
                "/api/2.0/mlflow/traces/delete-traces",
                {"experiment_id": experiment_id, "request_ids": ids},
            )
            deleted += int((answer or {}).get("traces_deleted", 0))
        return deleted

    def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        exists_ok: bool = False,
        bad_request: type[Exception] = RuntimeError,
    ) -> dict[str, Any] | None:
        """One REST call on the caller's thread; ``None`` when the resource does not exist.

        Raises:
            ConnectionError: The server cannot be reached.
            Exception: ``bad_request`` for HTTP 400, ``RuntimeError`` for any other error status.
        """
        import json  # noqa: PLC0415 - read path
        from http.client import HTTPException  # noqa: PLC0415
        from urllib.parse import urlencode  # noqa: PLC0415

        url = self.uri + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        body = None if payload is None else json.dumps(payload).encode()
        headers = {**self._headers, "Content-Type": "application/json"}
        try:
            response = self._sender.fetch(method, url, body, headers)
        except (OSError, HTTPException) as error:
            raise ConnectionError(f"cannot reach the MLflow server {self.uri}: {error}") from None
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            answer = {"message": response.text()}
        if 200 <= response.status < 300:
            return dict(answer)
        code = answer.get("error_code", "")
        if code == "RESOURCE_DOES_NOT_EXIST" or (exists_ok and code == "RESOURCE_ALREADY_EXISTS"):
            return None
        message = answer.get("message") or response.text()
        if response.status == 400:
            raise bad_request(f"the MLflow server {self.uri} rejected the request: {message}")
        raise RuntimeError(
            f"the MLflow server {self.uri} answered HTTP {response.status} to {method} {path}: "
            f"{message}"
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop retrying: a request in progress finishes, later failures drop at once."""
        self._sender.stop()

    def reset_after_fork(self) -> None:
        """Use a fresh lock and sender: the parent's threads may have held them at fork time."""
        from tracewire._http_export import HttpSender  # noqa: PLC0415 - loaded by __init__

        self._lock = allocate_lock()
        self._sender = HttpSender(self._sender.policy, self._ssl_context)

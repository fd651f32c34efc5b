"""A real ``mlflow server`` on 127.0.0.1 for the interop tests, and a destination that writes to it.

The server runs once per test session (marker ``mlflow_server``, ``nox -s interop``) with a SQLite
store under pytest's temporary directory and the lean flags that make it start in seconds and stay
offline: one worker, no job runner, the bundled model price catalog, no telemetry. It is stopped at
the end of the session whatever happens: its process group (it forks workers) gets SIGTERM, then
SIGKILL if it has not exited in time.

To iterate on these tests without waiting for a server start each run, start one yourself with the
same flags and point ``TRACEWIRE_TEST_MLFLOW_URI`` at it; it is then used and left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tracewire._destinations import MemoryDestination, TraceDestination
from tracewire._export import set_destination
from tracewire.entities import Trace

# The mlflow client in this process must stay offline too.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

STARTUP_TIMEOUT_S = 240  # measured 24-45 s on a loaded 2-core machine; first start migrates the DB
STOP_TIMEOUT_S = 20


@dataclass
class MlflowServer:
    """A running tracking server."""

    uri: str
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after a grace period."""
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        try:
            os.killpg(process.pid, sig)  # the group the server leads (start_new_session)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their parent
        return


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """Start ``mlflow server`` on a free 127.0.0.1 port and wait until it is healthy."""
    pytest.importorskip(
        "mlflow.server", reason="needs the full mlflow package: run `nox -s interop`"
    )
    data = tmp_path_factory.mktemp("mlflow-server")
    external = os.environ.get("TRACEWIRE_TEST_MLFLOW_URI")
    if external:
        yield MlflowServer(external.rstrip("/"), data / "server.log")
        return
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_MODEL_CATALOG_URI": "",  # else the server fetches prices from the internet
    }
    command = [
        *(sys.executable, "-m", "mlflow", "server"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--backend-store-uri", f"sqlite:///{data / 'mlflow.db'}"),
        *("--artifacts-destination", str(data / "artifacts")),
    ]
    log = data / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        started = time.monotonic()
        while not _healthy(uri):
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                pytest.fail(
                    f"mlflow server not healthy after {STARTUP_TIMEOUT_S}s:\n{log.read_text()}"
                )
            time.sleep(0.5)
        print(f"\nmlflow server healthy after {time.monotonic() - started:.1f}s at {uri}")
        yield MlflowServer(uri, log)
    finally:
        _stop(process)


class Tee(TraceDestination):
    """Writes to the server and keeps a local copy, so tests compare what MLflow reads with ours."""

    def __init__(self, server: TraceDestination) -> None:
        self.server = server
        self.local = MemoryDestination()

    def export(self, traces: Sequence[Trace]) -> None:
        self.local.export(traces)
        self.server.export(traces)

    def get_trace(self, trace_id: str) -> Trace | None:
        return self.local.get_trace(trace_id)

    def list_traces(self) -> list[Trace]:
        return self.local.list_traces()

    def delete_traces(self, trace_ids: Sequence[str]) -> int:
        return self.local.delete_traces(trace_ids)

    def shutdown(self) -> None:
        self.server.shutdown()


@pytest.fixture
def to_server(mlflow_server: MlflowServer) -> Iterator[Any]:
    """Send this test's traces to the server; ``tracewire.get_trace`` reads the local copy."""
    from tracewire._mlflow_server import MlflowServerDestination

    destination = MlflowServerDestination(mlflow_server.uri)
    tee = Tee(destination)
    set_destination(tee)
    yield destination
    set_destination(MemoryDestination())


@pytest.fixture(scope="session")
def mlflow_client(mlflow_server: MlflowServer) -> Any:
    """The real ``mlflow`` module, pointed at the server."""
    import mlflow

    mlflow.set_tracking_uri(mlflow_server.uri)
    return mlflow

"""Benchmark tracewire's tracing overhead against mlflow-tracing's, side by side, in one run.

Run with ``nox -s bench`` (or ``python benchmarks/bench_core.py`` in a venv holding both packages).
Each library runs its cases in its own subprocess, one after the other, so neither library's
imports or background threads disturb the other; this parent process imports neither library and
prints one combined markdown table. See ``benchmarks/README.md`` for the method and for exactly how
MLflow is configured (in-process, in-memory, no network).

The process exits 0 even when a budget is missed (the table says MISS) and non-zero only when a
case crashes.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

LIBRARIES = ("tracewire", "mlflow")
LABELS = {"tracewire": "tracewire", "mlflow": "mlflow-tracing"}
RESULT_MARKER = "BENCH_RESULT_JSON:"

# Budgets (µs on the caller's thread, ms for imports) the table checks.
TRACE_BUDGET_US = 10.0
TRACE_MIN_RATIO = 100.0
DISABLED_BUDGET_US = 1.0
IMPORT_BUDGET_MS = 30.0

# Never contacted: the in-memory exporter below replaces every write MLflow would send to it, and
# the socket guard fails the run's "network attempts" check if anything tries. A tracking URI is
# still needed because mlflow-tracing's default one imports the full MLflow's file store.
MLFLOW_PLACEHOLDER_URI = "http://127.0.0.1:9"
MLFLOW_ENV = {
    "MLFLOW_TRACKING_URI": MLFLOW_PLACEHOLDER_URI,
    # An experiment id as the trace destination, so no tracking-server lookup of the default
    # experiment is attempted (mlflow-tracing cannot resolve one without a server).
    "MLFLOW_TRACING_DESTINATION": "0",
    # Usage telemetry is a background thread that posts to the internet; tracewire has none.
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
# Keeps the comparison about library defaults: a developer's shell settings must not leak in.
STRIPPED_ENV_PREFIXES = ("TRACEWIRE_", "MLFLOW_", "OTEL_")

# How far the two workers' untraced loops may differ before the run is flagged as noisy.
NOISE_TOLERANCE = 0.2

# How long to wait for queued traces to reach a store, and how often to look.
DRAIN_TIMEOUT_S = 30.0
DRAIN_POLL_S = 0.0002

# Same bound as tracewire's MemoryDestination default, so both stores behave alike.
MEMORY_STORE_MAX_TRACES = 10_000

SMALL_INPUT = {"a": 1, "b": "x"}
BIG_INPUT = ("The quick brown fox jumps over the lazy dog. " * 2300)[:100_000]


@dataclass(frozen=True)
class Plan:
    """How many rounds, batches and launches the run makes.

    Attributes:
        rounds: Worker launches per library, alternating libraries, so that load from elsewhere
            on the machine hits both libraries alike rather than whichever ran during it.
        warmup: Batches per case and round, run first and discarded (lazy setup, caches).
        batches: Measured batches per case and round; the table shows the median, over all
            rounds, of the per-batch means.
        import_runs: Interpreter launches per import command for the wall-time medians.
        importtime_runs: Interpreter launches per import command under ``-X importtime``.
    """

    rounds: int = 5
    warmup: int = 2
    batches: int = 7
    import_runs: int = 11
    importtime_runs: int = 5


@dataclass(frozen=True)
class Case:
    """One measured scenario.

    Attributes:
        key: Stable identifier used in the worker's JSON.
        title: Markdown label.
        unit: What one measured "call" is.
        calls: Calls per batch.
        traces_per_call: Traces each call should export (0 for untraced cases).
        spans_per_trace: Spans each exported trace should hold (checked on the last one).
    """

    key: str
    title: str
    unit: str
    calls: int
    traces_per_call: int
    spans_per_trace: int = 1


CASES = (
    Case("plain", "plain call `f(small)`, no tracing (loop + call floor)", "call", 2_000, 0),
    Case("trace_small", '`@trace` `f({"a": 1, "b": "x"})`', "span", 200, 1),
    Case("trace_100kb", "`@trace` `f(<100 KB str>)`", "span", 100, 1),
    Case("span_bare", '`with start_span("s"): pass`', "span", 200, 1),
    # 50 traces x 11 spans stays well under the 2048-span queue of MLflow's batch processor.
    Case("tree_11", "root span + 10 children", "trace (11 spans)", 50, 1, 11),
    Case("disabled", "`tracing.disable()`, then `f(small)` of case 1", "call", 2_000, 0),
)


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that size a run, common to every benchmark script.

    ``--rounds``, ``--warmup``, ``--batches`` (``Plan``'s defaults) and ``--quick``: one set of
    arguments (``nox -s bench -- ...``) is passed to each script.
    """
    defaults = Plan()
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--batches", type=int, default=defaults.batches)
    parser.add_argument(
        "--quick", action="store_true", help="few batches and launches: a smoke test, not a result"
    )


def plan_from_args(
    args: argparse.Namespace, *, import_runs: int, importtime_runs: int = Plan.importtime_runs
) -> Plan:
    """Return the ``Plan`` the parsed options of ``add_plan_arguments`` ask for.

    Args:
        args: The parsed command line.
        import_runs: Interpreter launches per timed import (or autolog) command.
        importtime_runs: Launches under ``-X importtime``; ``--quick`` makes at most one.

    Returns:
        A plan of one round of a few batches and three launches for ``--quick`` (a smoke test),
        else the one the options describe.
    """
    if args.quick:
        return Plan(
            rounds=1, warmup=1, batches=3, import_runs=3, importtime_runs=min(importtime_runs, 1)
        )
    return Plan(
        rounds=args.rounds,
        warmup=args.warmup,
        batches=args.batches,
        import_runs=import_runs,
        importtime_runs=importtime_runs,
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------------------------------
# Worker side: runs inside one library's subprocess.
# --------------------------------------------------------------------------------------------------


class Library(Protocol):
    """The slice of the (MLflow-compatible) tracing API the cases use, plus store bookkeeping."""

    version: str

    def trace(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``fn`` with the library's ``@trace``."""
        ...

    def start_span(self, name: str) -> AbstractContextManager[Any]:
        """Return the library's ``start_span(name)`` context manager."""
        ...

    def drain(self, target: int) -> None:
        """Return once ``exported()`` reaches ``target``: every trace so far is in the store."""
        ...

    def flush(self) -> None:
        """Call the library's public flush function."""
        ...

    def disable(self) -> None:
        """Turn tracing off process-wide."""
        ...

    def enable(self) -> None:
        """Turn tracing back on."""
        ...

    def exported(self) -> int:
        """Return how many traces reached the store so far (cumulative)."""
        ...

    def clear_store(self) -> None:
        """Forget stored traces, to bound memory between batches."""
        ...

    def last_trace(self) -> Any:
        """Return the most recently stored trace object, or ``None`` if none is stored."""
        ...

    def last_trace_spans(self) -> int:
        """Return how many spans the most recently stored trace holds (-1 if none is stored)."""
        ...

    def health(self) -> dict[str, Any]:
        """Return library-specific counters worth printing (drops, exporter instances)."""
        ...

    def close(self) -> None:
        """Flush and stop background threads before the worker exits."""
        ...


class TracewireLibrary:
    """tracewire with the in-memory destination (``TRACEWIRE_TRACKING_URI=memory://``)."""

    def __init__(self) -> None:
        import tracewire
        from tracewire import _export

        self._tw = tracewire
        self._exporter = _export.EXPORTER
        self.version = tracewire.__version__

    def trace(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``fn`` with ``tracewire.trace``."""
        return self._tw.trace(fn)  # type: ignore[no-any-return]

    def start_span(self, name: str) -> AbstractContextManager[Any]:
        """Return ``tracewire.start_span(name)``."""
        return self._tw.start_span(name)  # type: ignore[no-any-return]

    def drain(self, target: int) -> None:
        """Call ``tracewire.flush()``, which returns once the export queue is empty.

        Raises:
            RuntimeError: If fewer than ``target`` traces reached the destination.
        """
        self._tw.flush()
        if self.exported() < target:
            raise RuntimeError(
                f"tracewire.flush() returned with {self.exported()}/{target} traces exported "
                f"(dropped={self._exporter.dropped})"
            )

    def flush(self) -> None:
        """Call ``tracewire.flush()``."""
        self._tw.flush()

    def disable(self) -> None:
        """Call ``tracewire.tracing.disable()``."""
        self._tw.tracing.disable()

    def enable(self) -> None:
        """Call ``tracewire.tracing.enable()``."""
        self._tw.tracing.enable()

    def exported(self) -> int:
        """Return the exporter's cumulative count of traces handed to the destination."""
        return int(self._exporter.exported)

    def clear_store(self) -> None:
        """Empty the in-memory destination (built from the tracking URI on first use)."""
        destination = self._exporter.destination
        resolve = getattr(destination, "resolve", None)
        clear = getattr(resolve() if resolve is not None else destination, "clear", None)
        if clear is not None:
            clear()

    def last_trace(self) -> Any:
        """Read the last finished trace back through the public API."""
        trace_id = self._tw.get_last_active_trace_id()
        return self._tw.get_trace(trace_id) if trace_id else None

    def last_trace_spans(self) -> int:
        """Read the last trace back through the public API and count its spans."""
        trace = self.last_trace()
        return -1 if trace is None else len(trace.data.spans)

    def health(self) -> dict[str, Any]:
        """Return the export queue's drop counter and destination type."""
        return {
            "EXPORTER.dropped": int(self._exporter.dropped),
            "destination": type(self._exporter.destination).__name__,
        }

    def close(self) -> None:
        """Call ``tracewire.flush()``."""
        self._tw.flush()


class MlflowLibrary:
    """mlflow-tracing with its default pipeline, ending in an in-memory store instead of a server.

    MLflow's own span processor, OpenTelemetry batch processor, exporter and async logging queue
    all run as by default; only the exporter's two network writes (``_log_trace``, ``_log_spans``)
    are replaced. See ``benchmarks/README.md``.
    """

    def __init__(self) -> None:
        import mlflow
        from mlflow.tracing.export import mlflow_v3
        from mlflow.tracing.provider import _get_span_processor

        # mlflow ships no complete type information; treat it as dynamic.
        self._mlflow: Any = mlflow
        self._get_span_processor: Callable[[], Any] = _get_span_processor
        self.version = importlib.metadata.version("mlflow-tracing")
        self._exporters = _install_mlflow_memory_exporter(mlflow_v3)

    def trace(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``fn`` with ``mlflow.trace``."""
        return self._mlflow.trace(fn)  # type: ignore[no-any-return, unused-ignore]

    def start_span(self, name: str) -> AbstractContextManager[Any]:
        """Return ``mlflow.start_span(name)``."""
        return self._mlflow.start_span(name)  # type: ignore[no-any-return, unused-ignore]

    def drain(self, target: int) -> None:
        """Push queued spans through MLflow's pipeline and wait until they are all stored.

        ``mlflow.flush_trace_async_logging()`` is not used here: even with nothing queued it
        takes about 2 s (twice, it stops and joins a consumer thread blocked in a 1 s queue
        ``get``, then rebuilds the worker pool), which would swamp the per-call wall time.
        Instead: force the batch span processor to export now, then poll the store's count.

        Raises:
            RuntimeError: If MLflow is not using the in-memory exporter, or the traces do not
                arrive within 30 s (dropped).
        """
        processor = self._get_span_processor()
        if processor is not None:
            processor.force_flush()
        if target and not self._exporters:
            raise RuntimeError(
                "mlflow-tracing did not build the in-memory exporter; its provider setup "
                "changed, so this benchmark's MLflow configuration must be revisited"
            )
        deadline = time.perf_counter() + DRAIN_TIMEOUT_S
        while self.exported() < target:
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"only {self.exported()}/{target} traces reached MLflow's in-memory store "
                    f"within {DRAIN_TIMEOUT_S:g} s"
                )
            time.sleep(DRAIN_POLL_S)

    def flush(self) -> None:
        """Call ``mlflow.flush_trace_async_logging()`` (or force-flush the span processor)."""
        flush = getattr(self._mlflow, "flush_trace_async_logging", None)
        if flush is not None:
            flush()
            return
        processor = self._get_span_processor()
        if processor is not None:
            processor.force_flush()

    def disable(self) -> None:
        """Call ``mlflow.tracing.disable()``."""
        self._mlflow.tracing.disable()

    def enable(self) -> None:
        """Call ``mlflow.tracing.enable()``."""
        self._mlflow.tracing.enable()

    def exported(self) -> int:
        """Return how many traces reached the in-memory store, over every exporter instance."""
        return sum(exporter.stored for exporter in self._exporters)

    def clear_store(self) -> None:
        """Empty every in-memory store."""
        for exporter in self._exporters:
            exporter.traces.clear()

    def last_trace(self) -> Any:
        """Return the trace stored last by the newest exporter holding any."""
        for exporter in reversed(self._exporters):
            if exporter.traces:
                return next(reversed(exporter.traces.values()))
        return None

    def last_trace_spans(self) -> int:
        """Count the spans of the trace stored last by the newest exporter holding any."""
        trace = self.last_trace()
        return -1 if trace is None else len(trace.data.spans)

    def health(self) -> dict[str, Any]:
        """Return how many exporter instances MLflow created (one per provider setup)."""
        return {"exporter_instances": len(self._exporters)}

    def close(self) -> None:
        """Flush and stop MLflow's logging threads, so its exit hook has nothing left to say."""
        flush = getattr(self._mlflow, "flush_trace_async_logging", None)
        if flush is not None:
            flush(terminate=True)


def _install_mlflow_memory_exporter(mlflow_v3: Any) -> list[Any]:
    """Make MLflow build an in-memory variant of its own V3 exporter from now on.

    MLflow imports ``MlflowV3SpanExporter`` from this module at the moment it sets up its tracer
    provider (lazily, on the first span), so replacing the module attribute before any span is
    started is enough.

    Args:
        mlflow_v3: The ``mlflow.tracing.export.mlflow_v3`` module.

    Returns:
        A list that every exporter instance MLflow creates appends itself to.
    """
    base = mlflow_v3.MlflowV3SpanExporter
    for hook in ("_log_trace", "_log_spans"):
        if not hasattr(base, hook):
            raise RuntimeError(f"mlflow-tracing's exporter has no {hook}; update the benchmark")
    instances: list[Any] = []

    class InMemoryMlflowV3SpanExporter(base):  # type: ignore[misc, valid-type]
        """MLflow's V3 exporter whose tracking-server writes go to a bounded dict instead."""

        def __init__(self, tracking_uri: str | None = None) -> None:
            super().__init__(tracking_uri)
            # What MLflow itself switches to when a store does not support span-level logging:
            # the cheapest mode, skipping the per-span copies made only to feed a server.
            self._store_supports_log_spans = False
            self.traces: OrderedDict[str, Any] = OrderedDict()
            self.stored = 0
            instances.append(self)

        def _log_trace(self, trace: Any, prompts: Any = None, workspace: str | None = None) -> None:
            del prompts, workspace
            self.traces[trace.info.trace_id] = trace
            if len(self.traces) > MEMORY_STORE_MAX_TRACES:
                self.traces.popitem(last=False)
            self.stored += 1

        def _log_spans(self, experiment_id: str, spans: Any, workspace: str | None = None) -> None:
            del experiment_id, spans, workspace

    mlflow_v3.MlflowV3SpanExporter = InMemoryMlflowV3SpanExporter
    return instances


def guard_network() -> list[str]:
    """Make every outbound IP connection or DNS lookup fail, and record it.

    Returns:
        The list the attempts are appended to (empty at the end of a clean run).
    """
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def is_ip(sock: socket.socket) -> bool:
        return sock.family in (socket.AF_INET, socket.AF_INET6)

    def connect(self: socket.socket, address: Any) -> None:
        if is_ip(self):
            attempts.append(f"connect {address!r}")
            raise OSError("bench_core: network access is disabled in this benchmark")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if is_ip(self):
            attempts.append(f"connect_ex {address!r}")
            return 111  # ECONNREFUSED
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(f"getaddrinfo {host!r}")
        raise socket.gaierror("bench_core: network access is disabled in this benchmark")

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = getaddrinfo
    return attempts


def _runners(lib: Library) -> dict[str, Callable[[int], None]]:
    """Build one ``run(n)`` per case: ``n`` calls in a tight loop, nothing else.

    The loop lives inside each runner (rather than calling a per-call lambda) so that the measured
    floor is just ``for`` plus the call, the same for both libraries; case "plain" shows it.
    """

    def trivial(x: Any) -> str:
        # A small constant output keeps case 2 about the input's size.
        del x
        return "ok"

    traced = lib.trace(trivial)
    start_span = lib.start_span
    small, big = SMALL_INPUT, BIG_INPUT

    def plain(n: int) -> None:
        for _ in range(n):
            trivial(small)

    def trace_small(n: int) -> None:
        for _ in range(n):
            traced(small)

    def trace_100kb(n: int) -> None:
        for _ in range(n):
            traced(big)

    def span_bare(n: int) -> None:
        for _ in range(n):
            with start_span("s"):
                pass

    def tree_11(n: int) -> None:
        for _ in range(n):
            with start_span("root"):
                for _ in range(10):
                    with start_span("child"):
                        pass

    return {
        "plain": plain,
        "trace_small": trace_small,
        "trace_100kb": trace_100kb,
        "span_bare": span_bare,
        "tree_11": tree_11,
        "disabled": trace_small,
    }


def _measure(
    lib: Library, run: Callable[[int], None], case: Case, plan: Plan, *, time_flush: bool
) -> dict[str, Any]:
    """Time ``plan.warmup + plan.batches`` batches of ``case.calls`` calls.

    Per batch: CPU on this thread while the calls run (``thread_time_ns``), and wall time for the
    calls plus the drain that follows (so the background export work of those calls is counted).
    Between batches, outside both timers: empty the store and collect garbage.

    Args:
        lib: The library under test.
        run: Makes ``n`` calls.
        case: The scenario (calls per batch, traces per call).
        plan: Batch counts.
        time_flush: Also call the library's public flush once at the end and time it.

    Returns:
        Per-call µs of each measured batch, the public flush's latency and the trace counts.
    """
    cpu_us: list[float] = []
    wall_us: list[float] = []
    exported_before = target = lib.exported()
    for index in range(plan.warmup + plan.batches):
        lib.clear_store()
        gc.collect()
        wall_start = time.perf_counter_ns()
        cpu_start = time.thread_time_ns()
        run(case.calls)
        cpu_end = time.thread_time_ns()
        target += case.calls * case.traces_per_call
        lib.drain(target)
        wall_end = time.perf_counter_ns()
        if index >= plan.warmup:
            cpu_us.append((cpu_end - cpu_start) / case.calls / 1e3)
            wall_us.append((wall_end - wall_start) / case.calls / 1e3)
    flush_ms: list[float] = []
    if time_flush:
        flush_start = time.perf_counter_ns()
        lib.flush()
        flush_ms.append((time.perf_counter_ns() - flush_start) / 1e6)
    exported = lib.exported() - exported_before
    spans = lib.last_trace_spans() if case.traces_per_call else 0
    lib.clear_store()
    return {
        "spans_in_last_trace": spans,
        "cpu_us": cpu_us,
        "wall_us": wall_us,
        "flush_ms": flush_ms,
        "exported": exported,
        "expected": (plan.warmup + plan.batches) * case.calls * case.traces_per_call,
    }


def _load_library(name: str) -> Library:
    if name == "tracewire":
        return TracewireLibrary()
    return MlflowLibrary()


def worker(name: str, plan: Plan, *, time_flush: bool) -> int:
    """Run every case for one library and print the results as one JSON line.

    Args:
        name: ``"tracewire"`` or ``"mlflow"``.
        plan: Batch counts.
        time_flush: Time the library's public flush once per case (MLflow's takes ~2 s, so only
            one round does it).

    Returns:
        The process exit code: 0, or 1 if the library could not even be loaded.
    """
    attempts = guard_network()
    result: dict[str, Any] = {"library": name, "cases": {}, "network_attempts": attempts}
    try:
        lib = _load_library(name)
        result["version"] = lib.version
        runners = _runners(lib)
    except Exception:
        result["error"] = traceback.format_exc()
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 1
    for case in CASES:
        try:
            if case.key == "disabled":
                lib.disable()
            try:
                result["cases"][case.key] = _measure(
                    lib, runners[case.key], case, plan, time_flush=time_flush
                )
            finally:
                if case.key == "disabled":
                    lib.enable()
        except Exception:
            result["cases"][case.key] = {"error": traceback.format_exc()}
    try:
        lib.close()
    except Exception:
        result["close_error"] = traceback.format_exc()
    result["health"] = lib.health()
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------------
# Parent side: launches the workers and the import timings, prints the table.
# --------------------------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED_ENV_PREFIXES)}
    # Import times must be those of an installed package, whose .pyc files exist (pip writes
    # them; uv, as nox uses it here, leaves that to the first import, which this must allow).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONHASHSEED"] = "0"
    env.update(MLFLOW_ENV)
    # Both libraries keep traces in memory: tracewire's default store is an SQLite file, which
    # bench_store.py measures on its own.
    env["TRACEWIRE_TRACKING_URI"] = "memory://"
    return env


def run_worker(name: str, plan: Plan, cwd: str, *, time_flush: bool) -> dict[str, Any]:
    """Run one library's cases in a fresh interpreter and return its parsed results.

    Args:
        name: ``"tracewire"`` or ``"mlflow"``.
        plan: Batch counts, forwarded on the command line.
        cwd: An empty directory, so no local folder can shadow an installed package.
        time_flush: Ask the worker to time the public flush.

    Returns:
        The worker's JSON result, or one with an ``"error"`` if it died without one.
    """
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        name,
        "--warmup",
        str(plan.warmup),
        "--batches",
        str(plan.batches),
    ]
    if time_flush:
        command.append("--time-flush")
    return run_json_subprocess(
        command, cwd, f"{LABELS[name]} worker", {"library": name, "cases": {}}
    )


def run_json_subprocess(
    command: Sequence[str], cwd: str, label: str, on_error: dict[str, Any]
) -> dict[str, Any]:
    """Run a worker command in the cleaned environment and parse its ``RESULT_MARKER`` line.

    Args:
        command: The full command line.
        cwd: An empty directory, so no local folder can shadow an installed package.
        label: Names the worker in the stderr banner and in the error.
        on_error: Returned, with an ``"error"`` added, when no result line was printed.

    Returns:
        The worker's JSON result, or ``on_error`` plus an ``"error"`` if it died without one.
    """
    completed = subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False
    )
    if completed.stderr.strip():
        # Kept off stdout so the table stays clean, but never hidden.
        print(f"--- {label} stderr ---\n{completed.stderr}", file=sys.stderr)
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return result
    return {
        **on_error,
        "error": f"{label} exited {completed.returncode} without a result\n{completed.stderr}",
    }


def _merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool one library's rounds: batch lists concatenated, counts summed, first error kept."""
    merged: dict[str, Any] = {"cases": {}, "network_attempts": [], "health": {}}
    for result in rounds:
        if "version" in result:
            merged["version"] = result["version"]
        for key, value in result.get("health", {}).items():
            # Counters add up over rounds (each round is a fresh process); labels are kept.
            if isinstance(value, int) and key in merged["health"]:
                merged["health"][key] += value
            else:
                merged["health"][key] = value
        for key in ("error", "close_error"):
            if key in result:
                merged.setdefault(key, result[key])
        merged["network_attempts"] += result.get("network_attempts", [])
        for case, data in result["cases"].items():
            pooled = merged["cases"].setdefault(
                case, {"cpu_us": [], "wall_us": [], "flush_ms": [], "exported": 0, "expected": 0}
            )
            if "error" in data:
                pooled.setdefault("error", data["error"])
                continue
            pooled["spans_in_last_trace"] = data["spans_in_last_trace"]
            for key in ("cpu_us", "wall_us", "flush_ms"):
                pooled[key] += data[key]
            for key in ("exported", "expected"):
                pooled[key] += data[key]
    return merged


def run_workers(plan: Plan, cwd: str) -> dict[str, dict[str, Any]]:
    """Run every library's worker ``plan.rounds`` times, alternating which goes first.

    Returns:
        Pooled results by library.
    """
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in LIBRARIES}
    for index in range(plan.rounds):
        order = LIBRARIES if index % 2 == 0 else tuple(reversed(LIBRARIES))
        for name in order:
            rounds[name].append(run_worker(name, plan, cwd, time_flush=index == 0))
    return {name: _merge(results) for name, results in rounds.items()}


@dataclass
class ImportTimes:
    """Import cost of one module above a bare interpreter start.

    Attributes:
        wall_ms: Median wall time of ``python -c "import X"`` minus that of ``python -c pass``.
        importtime_ms: Median sum of the cumulative ``-X importtime`` µs of the top-level imports
            that ``python -X importtime -c pass`` does not make, in ms.
        runs: The raw wall times (ms) of each launch.
    """

    wall_ms: float
    importtime_ms: float
    runs: list[float] = field(default_factory=list)


def _launch_ms(code: str, cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter_ns()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True, capture_output=True)
    return (time.perf_counter_ns() - start) / 1e6


def _top_level_imports(code: str, cwd: str, env: dict[str, str]) -> dict[str, int]:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    top: dict[str, int] = {}
    for line in completed.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3:
            continue
        cumulative, name = parts[1].strip(), parts[2]
        # Nesting shows as two more spaces of indent per level after the "| " separator.
        if not cumulative.isdigit() or name.startswith("  "):
            continue
        top[name.strip()] = int(cumulative)
    return top


def _bytecode_cached(module: str) -> bool:
    """Tell whether ``module``'s own .pyc exists (found without importing it)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return False
    return os.path.exists(importlib.util.cache_from_source(spec.origin))


def measure_imports(modules: Sequence[str], plan: Plan, cwd: str) -> dict[str, ImportTimes]:
    """Time ``import X`` for each module against a bare interpreter, interleaved round-robin.

    Args:
        modules: Module names to import.
        plan: How many launches to median over.
        cwd: An empty directory (``-c`` puts the cwd first on ``sys.path``).

    Returns:
        Import costs by module, plus the bare interpreter's start under the key ``""``.
    """
    env = clean_env()
    codes = {"": "pass", **{m: f"import {m}" for m in modules}}
    for code in codes.values():  # writes any missing .pyc files, then warms the page cache
        _launch_ms(code, cwd, env)
        _launch_ms(code, cwd, env)
    walls: dict[str, list[float]] = {key: [] for key in codes}
    for _ in range(plan.import_runs):
        for key, code in codes.items():
            walls[key].append(_launch_ms(code, cwd, env))
    baseline_names = set(_top_level_imports("pass", cwd, env))
    sums: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(plan.importtime_runs):
        for module in modules:
            top = _top_level_imports(codes[module], cwd, env)
            sums[module].append(
                sum(us for name, us in top.items() if name not in baseline_names) / 1e3
            )
    bare = median(walls[""])
    times = {
        module: ImportTimes(
            wall_ms=median(walls[module]) - bare,
            importtime_ms=median(sums[module]),
            runs=walls[module],
        )
        for module in modules
    }
    times[""] = ImportTimes(wall_ms=bare, importtime_ms=0.0, runs=walls[""])
    return times


# --------------------------------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio(mlflow_value: float | None, tracewire_value: float | None) -> str:
    if not mlflow_value or not tracewire_value or math.isnan(mlflow_value + tracewire_value):
        return "n/a"
    return f"{mlflow_value / tracewire_value:,.1f}x"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _stat(data: dict[str, Any], key: str) -> float | None:
    """Return the median of one measure, or ``None`` for a crashed or missing case."""
    if "error" in data or not data.get(key):
        return None
    return median(data[key])


def _budget(case: Case, tw_cpu: float | None, ml_cpu: float | None) -> tuple[str, str]:
    """Return the budget text and verdict for one case's row (tracewire's caller-thread CPU)."""
    if case.key in ("trace_small", "trace_100kb"):
        text = f"≤ {TRACE_BUDGET_US:g} µs and ≥ {TRACE_MIN_RATIO:g}x"
        if tw_cpu is None or ml_cpu is None:
            return text, "CRASH"
        fast = tw_cpu <= TRACE_BUDGET_US
        ratio_ok = ml_cpu / tw_cpu >= TRACE_MIN_RATIO
        detail = f"(µs {verdict(fast)}, ratio {verdict(ratio_ok)})"
        return text, f"{verdict(fast and ratio_ok)} {detail}"
    if case.key == "disabled":
        text = f"≤ {DISABLED_BUDGET_US:g} µs"
        if tw_cpu is None:
            return text, "CRASH"
        return text, verdict(tw_cpu <= DISABLED_BUDGET_US)
    return "", ""


def machine() -> str:
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    cpu_model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, nproc={nproc} ({cpu_model})"


def load_average() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _header(results: dict[str, dict[str, Any]], plan: Plan, load_before: str) -> list[str]:
    versions = {
        name: results[name].get("version") or dist_version(LABELS[name]) for name in LIBRARIES
    }
    measured = plan.rounds * plan.batches
    return [
        "# tracewire vs mlflow-tracing: tracing overhead",
        "",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{machine()}; load average 1/5/15 min: {load_before} at start, {load_average()} at end",
        f"- tracewire {versions['tracewire']}, mlflow-tracing {versions['mlflow']} "
        f"(opentelemetry-sdk {dist_version('opentelemetry-sdk')})",
        f"- each library in its own subprocess, {plan.rounds} alternating rounds; per case and "
        f"round {plan.warmup} warm-up + {plan.batches} measured batches, so each number is the "
        f"median of {measured} per-batch means",
        "- **CPU** = `time.thread_time_ns()` of the calling thread / calls: the hot path, "
        "background export threads excluded (budgets apply to it). **wall** = `perf_counter` over "
        "N calls and until all N traces are in the store, / N: includes background export work",
        "- MLflow: its default span processor, batch processor and async queue; its exporter "
        "writes to an in-memory dict instead of a server. tracewire: its default in-memory "
        "destination. Neither touches the network (see benchmarks/README.md)",
        "",
    ]


def _case_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| # | case | per | tracewire CPU µs | mlflow CPU µs | CPU ratio mlflow/tw "
        "| tracewire wall µs | mlflow wall µs | wall ratio mlflow/tw | budget (tracewire CPU) "
        "| result |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for number, case in enumerate(CASES):
        tw = results["tracewire"]["cases"].get(case.key, {"error": "missing"})
        ml = results["mlflow"]["cases"].get(case.key, {"error": "missing"})
        tw_cpu, ml_cpu = _stat(tw, "cpu_us"), _stat(ml, "cpu_us")
        tw_wall, ml_wall = _stat(tw, "wall_us"), _stat(ml, "wall_us")
        cells = [
            "ref" if number == 0 else str(number),
            case.title,
            case.unit,
            "CRASH" if tw_cpu is None else fmt(tw_cpu),
            "CRASH" if ml_cpu is None else fmt(ml_cpu),
            ratio(ml_cpu, tw_cpu),
            "CRASH" if tw_wall is None else fmt(tw_wall),
            "CRASH" if ml_wall is None else fmt(ml_wall),
            ratio(ml_wall, tw_wall),
            *_budget(case, tw_cpu, ml_cpu),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _import_table(imports: dict[str, ImportTimes] | None, error: str | None) -> list[str]:
    lines = [
        "",
        "| 6 | import cost above bare `python -c pass` | tracewire ms | mlflow ms "
        "| ratio mlflow/tw | budget (tracewire, 6a) | result |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    if imports is None:
        lines.append(f"| 6 | CRASH: {error} | | | | ≤ {IMPORT_BUDGET_MS:g} ms | CRASH |")
        return lines
    tw, ml = imports["tracewire"], imports["mlflow"]
    cached = ", ".join(
        f"{LABELS[m]} {'yes' if _bytecode_cached(m) else 'NO'}" for m in ("tracewire", "mlflow")
    )
    lines.append(
        f"| 6a | wall: median `python -c 'import X'` minus median `python -c pass` "
        f"({len(tw.runs)} interleaved launches each; bare = {imports[''].wall_ms:.1f} ms; "
        f".pyc cached: {cached}) "
        f"| {tw.wall_ms:.1f} | {ml.wall_ms:.1f} | {ratio(ml.wall_ms, tw.wall_ms)} "
        f"| ≤ {IMPORT_BUDGET_MS:g} ms | {verdict(tw.wall_ms <= IMPORT_BUDGET_MS)} |"
    )
    lines.append(
        "| 6b | `-X importtime`: sum of the cumulative µs of the top-level imports that bare "
        "python does not make (median; importtime's own overhead inflates it) "
        f"| {tw.importtime_ms:.1f} | {ml.importtime_ms:.1f} "
        f"| {ratio(ml.importtime_ms, tw.importtime_ms)} | (cross-check) | |"
    )
    return lines


def _footer(results: dict[str, dict[str, Any]]) -> tuple[list[str], bool]:
    """Return the integrity notes (exports, drops, network) and whether anything crashed."""
    lines = [""]
    crashed = False
    for name in LIBRARIES:
        result = results[name]
        label = LABELS[name]
        if "error" in result:
            crashed = True
            lines.append(f"- **{label} worker crashed**:\n```\n{result['error']}\n```")
            continue
        counts = []
        for case in CASES:
            data = result["cases"].get(case.key, {"error": "missing"})
            if "error" in data:
                crashed = True
                lines.append(f"- **{label} case {case.key} crashed**:\n```\n{data['error']}```")
                continue
            mismatch = "" if data["exported"] == data["expected"] else f"/{data['expected']} (!)"
            spans = data.get("spans_in_last_trace", 0)
            if case.traces_per_call and spans != case.spans_per_trace:
                mismatch += f" (last trace has {spans} spans, not {case.spans_per_trace} (!))"
            counts.append(f"{case.key} {data['exported']}{mismatch}")
        health = ", ".join(f"{key}={value}" for key, value in result.get("health", {}).items())
        attempts = result.get("network_attempts", [])
        flush_ms = [ms for data in result["cases"].values() for ms in data.get("flush_ms", [])]
        lines.append(
            f"- {label}: traces stored per case (and span count of the last one checked): "
            f"{', '.join(counts)}; {health}; public flush() "
            f"with nothing queued: median {median(flush_ms):.2f} ms; network attempts: "
            f"{len(attempts)}" + (f" {attempts[:3]}" if attempts else "")
        )
        if "close_error" in result:
            lines.append(f"- {label} close() failed:\n```\n{result['close_error']}```")
    return lines, crashed


def _noise_warning(results: dict[str, dict[str, Any]]) -> list[str]:
    """Flag a run where the untraced loop ran at different speeds in the two libraries' workers.

    The ``ref`` case does the same work in both workers, so a gap there means the machine was
    busier while one library ran, and that library's numbers are inflated by about as much.
    """
    tw = _stat(results["tracewire"]["cases"].get("plain", {}), "cpu_us")
    ml = _stat(results["mlflow"]["cases"].get("plain", {}), "cpu_us")
    if tw is None or ml is None or abs(tw / ml - 1) <= NOISE_TOLERANCE:
        return []
    slower = "tracewire" if tw > ml else "mlflow-tracing"
    return [
        f"- **noisy run**: the untraced `ref` loop ran {max(tw, ml) / min(tw, ml):.2f}x slower in "
        f"the {slower} workers than in the other library's, so the machine was busier while "
        f"{slower} ran and its numbers are inflated by about that much; rerun on a quieter "
        "machine or with more `--rounds`"
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark (parent) or one library's cases (``--worker``).

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit code: 1 if a case crashed, else 0 (budget misses included).
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--time-flush", action="store_true", help=argparse.SUPPRESS)
    add_plan_arguments(parser)
    parser.add_argument("--import-runs", type=int, default=Plan().import_runs)
    args = parser.parse_args(argv)
    plan = plan_from_args(args, import_runs=args.import_runs)
    if args.worker:
        return worker(args.worker, plan, time_flush=args.time_flush)

    started = time.perf_counter()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench_core_") as cwd:
        results = run_workers(plan, cwd)
        imports: dict[str, ImportTimes] | None = None
        import_error = None
        try:
            imports = measure_imports(["tracewire", "mlflow"], plan, cwd)
        except subprocess.CalledProcessError as error:
            import_error = f"{error.cmd} exited {error.returncode}: {error.stderr!r}"
    lines = _header(results, plan, load_before)
    lines += _case_table(results)
    lines += _import_table(imports, import_error)
    footer, crashed = _footer(results)
    lines += footer
    lines += _noise_warning(results)
    lines.append(f"- total benchmark time: {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    return 1 if crashed or imports is None else 0


if __name__ == "__main__":
    sys.exit(main())

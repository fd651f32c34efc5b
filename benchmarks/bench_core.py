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

# How long to wait for queued traces to reach a store, and how often to look.
DRAIN_TIMEOUT_S = 30.0
DRAIN_POLL_S = 0.0002

# Same bound as tracewire's MemoryDestination default, so both stores behave alike.
MEMORY_STORE_MAX_TRACES = 10_000

SMALL_INPUT = {"a": 1, "b": "x"}
BIG_INPUT = ("The quick brown fox jumps over the lazy dog. " * 2300)[:100_000]


@dataclass(frozen=True)
class Plan:
    """How many batches and calls each case runs.

    Attributes:
        warmup: Batches run first and discarded (imports, caches, lazy initialisation).
        batches: Measured batches; the table shows the median of their per-call means.
        import_runs: Interpreter launches per import command for the wall-time medians.
        importtime_runs: Interpreter launches per import command under ``-X importtime``.
    """

    warmup: int = 5
    batches: int = 31
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
    """

    key: str
    title: str
    unit: str
    calls: int
    traces_per_call: int


CASES = (
    Case("plain", "plain call `f(small)`, no tracing (loop + call floor)", "call", 5_000, 0),
    Case("trace_small", '`@trace` `f({"a": 1, "b": "x"})`', "span", 200, 1),
    Case("trace_100kb", "`@trace` `f(<100 KB str>)`", "span", 100, 1),
    Case("span_bare", '`with start_span("s"): pass`', "span", 200, 1),
    # 50 traces x 11 spans stays well under the 2048-span queue of MLflow's batch processor.
    Case("tree_11", "root span + 10 children", "trace (11 spans)", 50, 1),
    Case("disabled", "`tracing.disable()`, then `f(small)` of case 1", "call", 5_000, 0),
)


def _median(values: Sequence[float]) -> float:
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

    def health(self) -> dict[str, Any]:
        """Return library-specific counters worth printing (drops, exporter instances)."""
        ...

    def close(self) -> None:
        """Flush and stop background threads before the worker exits."""
        ...


class TracewireLibrary:
    """tracewire with its default destination (in memory; nothing configured)."""

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
        """Empty the in-memory destination."""
        clear = getattr(self._exporter.destination, "clear", None)
        if clear is not None:
            clear()

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

        self._mlflow = mlflow
        self._get_span_processor = _get_span_processor
        self.version = importlib.metadata.version("mlflow-tracing")
        self._exporters = _install_mlflow_memory_exporter(mlflow_v3)

    def trace(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``fn`` with ``mlflow.trace``."""
        return self._mlflow.trace(fn)  # type: ignore[no-any-return]

    def start_span(self, name: str) -> AbstractContextManager[Any]:
        """Return ``mlflow.start_span(name)``."""
        return self._mlflow.start_span(name)  # type: ignore[no-any-return]

    def drain(self, target: int) -> None:
        """Push queued spans through MLflow's pipeline and wait until they are all stored.

        ``mlflow.flush_trace_async_logging()`` is not used here: even with nothing queued it
        takes about a second (it stops and joins a consumer thread blocked in a 1 s queue ``get``,
        then rebuilds the worker pool), which would swamp the per-call wall time. Instead: force
        the batch span processor to export now, then poll the store's count.

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


def _guard_network() -> list[str]:
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

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
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


def _measure(lib: Library, run: Callable[[int], None], case: Case, plan: Plan) -> dict[str, Any]:
    """Time ``plan.warmup + plan.batches`` batches of ``case.calls`` calls.

    Per batch: CPU on this thread while the calls run (``thread_time_ns``), and wall time for the
    calls plus the drain that follows (so the background export work of those calls is counted).
    Between batches, outside both timers: empty the store and collect garbage. After the last
    batch, the library's public flush is called once and timed.

    Returns:
        Per-call medians in µs, the public flush's latency and the count of exported traces.
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
    flush_start = time.perf_counter_ns()
    lib.flush()
    flush_ms = (time.perf_counter_ns() - flush_start) / 1e6
    exported = lib.exported() - exported_before
    lib.clear_store()
    return {
        "cpu_us": _median(cpu_us),
        "wall_us": _median(wall_us),
        "cpu_us_min": min(cpu_us),
        "wall_us_min": min(wall_us),
        "flush_ms": flush_ms,
        "exported": exported,
        "expected": (plan.warmup + plan.batches) * case.calls * case.traces_per_call,
    }


def _load_library(name: str) -> Library:
    if name == "tracewire":
        return TracewireLibrary()
    return MlflowLibrary()


def worker(name: str, plan: Plan) -> int:
    """Run every case for one library and print the results as one JSON line.

    Args:
        name: ``"tracewire"`` or ``"mlflow"``.
        plan: Batch sizes.

    Returns:
        The process exit code: 0, or 1 if the library could not even be loaded.
    """
    attempts = _guard_network()
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
                result["cases"][case.key] = _measure(lib, runners[case.key], case, plan)
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


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED_ENV_PREFIXES)}
    env["PYTHONHASHSEED"] = "0"
    env.update(MLFLOW_ENV)
    env.update(extra or {})
    return env


def run_worker(name: str, plan: Plan, cwd: str) -> dict[str, Any]:
    """Run one library's cases in a fresh interpreter and return its parsed results.

    Args:
        name: ``"tracewire"`` or ``"mlflow"``.
        plan: Batch sizes, forwarded on the command line.
        cwd: An empty directory, so no local folder can shadow an installed package.

    Returns:
        The worker's JSON result, or ``{"error": ...}`` if it died without one.
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
    completed = subprocess.run(
        command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, check=False
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            result["stderr"] = completed.stderr
            return result
    return {
        "library": name,
        "cases": {},
        "error": f"worker exited {completed.returncode} without a result\n{completed.stderr}",
        "stderr": completed.stderr,
    }


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


def measure_imports(modules: Sequence[str], plan: Plan, cwd: str) -> dict[str, ImportTimes]:
    """Time ``import X`` for each module against a bare interpreter, interleaved round-robin.

    Args:
        modules: Module names to import.
        plan: How many launches to median over.
        cwd: An empty directory (``-c`` puts the cwd first on ``sys.path``).

    Returns:
        Import costs by module.
    """
    env = _clean_env()
    codes = {"": "pass", **{m: f"import {m}" for m in modules}}
    for code in codes.values():  # the first launch writes .pyc files in a fresh venv
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
    bare = _median(walls[""])
    return {
        module: ImportTimes(
            wall_ms=_median(walls[module]) - bare,
            importtime_ms=_median(sums[module]),
            runs=walls[module],
        )
        for module in modules
    } | {"": ImportTimes(wall_ms=bare, importtime_ms=0.0, runs=walls[""])}


# --------------------------------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ratio(mlflow_value: float | None, tracewire_value: float | None) -> str:
    if not mlflow_value or not tracewire_value:
        return "n/a"
    return f"{mlflow_value / tracewire_value:,.1f}x"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _budget(case: Case, tw: dict[str, Any], ml: dict[str, Any]) -> tuple[str, str]:
    """Return the budget text and verdict for one case's row (caller-thread CPU)."""
    tw_cpu = tw.get("cpu_us")
    if case.key in ("trace_small", "trace_100kb"):
        ml_cpu = ml.get("cpu_us")
        if tw_cpu is None:
            return f"≤ {TRACE_BUDGET_US:g} µs and ≥ {TRACE_MIN_RATIO:g}x", "CRASH"
        fast = tw_cpu <= TRACE_BUDGET_US
        ratio_ok = ml_cpu is not None and ml_cpu / tw_cpu >= TRACE_MIN_RATIO
        detail = (
            f"(≤{TRACE_BUDGET_US:g}µs {_verdict(fast)}, ≥{TRACE_MIN_RATIO:g}x {_verdict(ratio_ok)})"
        )
        return f"≤ {TRACE_BUDGET_US:g} µs and ≥ {TRACE_MIN_RATIO:g}x", (
            f"{_verdict(fast and ratio_ok)} {detail}"
        )
    if case.key == "disabled":
        if tw_cpu is None:
            return f"≤ {DISABLED_BUDGET_US:g} µs", "CRASH"
        return f"≤ {DISABLED_BUDGET_US:g} µs", _verdict(tw_cpu <= DISABLED_BUDGET_US)
    return "", ""


def _header(results: dict[str, dict[str, Any]], plan: Plan) -> list[str]:
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
    versions = {
        name: results[name].get("version") or _dist_version(LABELS[name]) for name in LIBRARIES
    }
    otel = _dist_version("opentelemetry-sdk")
    implementation = platform.python_implementation()
    return [
        "# tracewire vs mlflow-tracing: tracing overhead",
        "",
        f"- Python {platform.python_version()} ({implementation}), {platform.system()} "
        f"{platform.machine()}, nproc={nproc} ({cpu_model})",
        f"- tracewire {versions['tracewire']}, mlflow-tracing {versions['mlflow']} "
        f"(opentelemetry-sdk {otel})",
        f"- each library in its own subprocess; per case {plan.warmup} warm-up + {plan.batches} "
        "measured batches; medians of the per-batch means",
        "- **CPU** = `time.thread_time_ns()` of the calling thread / calls (the hot path; "
        "background export threads excluded); **wall** = `perf_counter` over N calls + flush, / N "
        "(includes background export work)",
        "- MLflow: default span processor + batch processor + async queue, exporter writes to an "
        "in-memory dict (no server, see benchmarks/README.md); tracewire: default in-memory "
        "destination",
        "",
    ]


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


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
        cells = [
            "ref" if number == 0 else str(number),
            case.title,
            case.unit,
            "CRASH" if "error" in tw else _fmt(tw["cpu_us"]),
            "CRASH" if "error" in ml else _fmt(ml["cpu_us"]),
            _ratio(ml.get("cpu_us"), tw.get("cpu_us")),
            "CRASH" if "error" in tw else _fmt(tw["wall_us"]),
            "CRASH" if "error" in ml else _fmt(ml["wall_us"]),
            _ratio(ml.get("wall_us"), tw.get("wall_us")),
            *_budget(case, tw, ml),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _import_table(imports: dict[str, ImportTimes] | None, error: str | None) -> list[str]:
    lines = [
        "",
        "| 6 | import cost above bare `python -c pass` | tracewire ms | mlflow ms "
        "| ratio mlflow/tw | budget (tracewire wall) | result |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    if imports is None:
        lines.append(f"| 6 | CRASH: {error} | | | | ≤ {IMPORT_BUDGET_MS:g} ms | CRASH |")
        return lines
    tw, ml = imports["tracewire"], imports["mlflow"]
    lines.append(
        f"| 6a | wall: median `python -c 'import X'` minus median `python -c pass` "
        f"({len(tw.runs)} interleaved launches each; bare = {imports[''].wall_ms:.1f} ms) "
        f"| {tw.wall_ms:.1f} | {ml.wall_ms:.1f} | {_ratio(ml.wall_ms, tw.wall_ms)} "
        f"| ≤ {IMPORT_BUDGET_MS:g} ms | {_verdict(tw.wall_ms <= IMPORT_BUDGET_MS)} |"
    )
    lines.append(
        "| 6b | `-X importtime`: sum of cumulative µs of the top-level imports bare python does "
        f"not make (median; importtime's own overhead inflates it) | {tw.importtime_ms:.1f} "
        f"| {ml.importtime_ms:.1f} | {_ratio(ml.importtime_ms, tw.importtime_ms)} | "
        "(cross-check) | |"
    )
    return lines


def _footer(results: dict[str, dict[str, Any]]) -> tuple[list[str], bool]:
    """Return the integrity notes (exports, drops, network) and whether anything crashed."""
    lines = [""]
    crashed = False
    for name in LIBRARIES:
        result = results[name]
        if "error" in result:
            crashed = True
            lines.append(f"- **{LABELS[name]} worker crashed**:\n```\n{result['error']}\n```")
            continue
        counts = []
        for case in CASES:
            data = result["cases"].get(case.key, {"error": "missing"})
            if "error" in data:
                crashed = True
                lines.append(
                    f"- **{LABELS[name]} case {case.key} crashed**:\n```\n{data['error']}```"
                )
                continue
            if data["exported"] != data["expected"]:
                counts.append(f"{case.key} {data['exported']}/{data['expected']} (MISMATCH)")
            else:
                counts.append(f"{case.key} {data['exported']}")
        health = ", ".join(f"{key}={value}" for key, value in result.get("health", {}).items())
        attempts = result.get("network_attempts", [])
        flush_ms = [data["flush_ms"] for data in result["cases"].values() if "flush_ms" in data]
        lines.append(
            f"- {LABELS[name]}: traces stored per case: {', '.join(counts)}; {health}; "
            f"public flush() after a drained batch: median {_median(flush_ms):.2f} ms; "
            f"network attempts: {len(attempts)}" + (f" {attempts[:3]}" if attempts else "")
        )
        if "close_error" in result:
            lines.append(f"- {LABELS[name]} close() failed:\n```\n{result['close_error']}```")
    return lines, crashed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark (parent) or one library's cases (``--worker``).

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit code: 1 if a case crashed, else 0 (budget misses included).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=Plan.warmup)
    parser.add_argument("--batches", type=int, default=Plan.batches)
    parser.add_argument("--import-runs", type=int, default=Plan.import_runs)
    parser.add_argument(
        "--quick", action="store_true", help="few batches and launches: a smoke test, not a result"
    )
    args = parser.parse_args(argv)
    plan = (
        Plan(warmup=1, batches=3, import_runs=3, importtime_runs=1)
        if args.quick
        else Plan(warmup=args.warmup, batches=args.batches, import_runs=args.import_runs)
    )
    if args.worker:
        return worker(args.worker, plan)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_core_") as cwd:
        results = {name: run_worker(name, plan, cwd) for name in LIBRARIES}
        for name, result in results.items():
            if result.get("stderr", "").strip():
                # Kept off stdout so the table stays clean, but never hidden.
                print(f"--- {LABELS[name]} worker stderr ---\n{result['stderr']}", file=sys.stderr)
        imports: dict[str, ImportTimes] | None = None
        import_error = None
        try:
            imports = measure_imports(["tracewire", "mlflow"], plan, cwd)
        except subprocess.CalledProcessError as error:
            import_error = f"{error.cmd} exited {error.returncode}: {error.stderr!r}"
    lines = _header(results, plan)
    lines += _case_table(results)
    lines += _import_table(imports, import_error)
    footer, crashed = _footer(results)
    lines += footer
    lines.append(f"- total benchmark time: {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    return 1 if crashed or imports is None else 0


if __name__ == "__main__":
    sys.exit(main())

"""The method shared by the per-SDK autolog benchmarks (``bench_openai.py``, ``bench_anthropic.py``).

Each of those scripts describes one SDK: its mock server, the calls it measures, what token usage
both libraries must record. Everything else lives here, so the SDKs are measured the same way:
the three workers (uninstrumented, tracewire, MLflow) and their rotating rounds, the paired
autolog-off/on batches, the autolog probe in fresh interpreters, the pooling of rounds, and the
markdown report. ``benchmarks/README.md`` ("OpenAI autolog") describes the method.

The parent process imports neither tracing library nor the SDK: workers and probes are fresh
interpreters running the SDK's script again with ``--worker`` or ``--autolog-probe``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench_core import (
    LIBRARIES,
    RESULT_MARKER,
    Library,
    MlflowLibrary,
    Plan,
    TracewireLibrary,
    add_plan_arguments,
    dist_version,
    guard_network,
    load_average,
    plan_from_args,
    run_json_subprocess,
)

# Budgets: tracewire's caller-thread CPU overhead over the uninstrumented call, and the wall time of
# ``tracewire.<sdk>.autolog()`` right after ``import <sdk>``.
OVERHEAD_BUDGET_PCT = 3.0
AUTOLOG_BUDGET_MS = 20.0

# How far the uninstrumented batches of two workers may differ before the footer flags the run.
NOISE_TOLERANCE = 0.1

DEFAULT_AUTOLOG_RUNS = 7
# Probe launches per library run first and discarded: the first writes any missing ``.pyc``, the
# second warms the page cache.
DISCARDED_PROBES = 2
# What each autolog probe measures (numbers, pooled as lists over launches).
PROBE_MEASURES = (
    "autolog_ms",
    "autolog_cpu_ms",
    "import_sdk_ms",
    "import_library_ms",
    "new_modules",
    "new_sdk_modules",
)
USAGE_ATTRIBUTE = "mlflow.chat.tokenUsage"
METRICS = ("cpu_us", "proc_us", "wall_us")
# How much of a span's outputs the footer quotes: enough to tell a message from an object's repr.
OUTPUT_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class CallCase:
    """One measured kind of call.

    Attributes:
        key: Stable identifier used in the worker's JSON.
        title: Markdown label.
        calls: Calls per batch.
        kwargs: The arguments of each ``create`` call, the same in every worker.
        stream_items: For a streamed call, how many items the caller must see per call (the
            footer checks it); ``None`` for a plain call.
        item_name: What the footer calls those items ("chunks", "events").
    """

    key: str
    title: str
    calls: int
    kwargs: Mapping[str, Any]
    stream_items: int | None = None
    item_name: str = "chunks"


@dataclass
class Session:
    """What one worker measures with.

    Attributes:
        lib: The tracing library's bookkeeping (store, drain), or the no-op stand-in.
        toggle: Turns the library's autolog for the SDK on or off; ``None`` for the
            uninstrumented worker, whose batches all run the SDK untouched.
        runners: One ``run(n)`` per case key: ``n`` calls in a tight loop.
        probe: One call of a case outside any timer; returns the stream items the caller saw
            (0 for a plain call).
        requests: Returns the mock server's request counters, for the footer.
        http: The HTTP library the client was built on, with its version (for the header).
    """

    lib: Library | Uninstrumented
    toggle: Callable[[bool], None] | None
    runners: dict[str, Callable[[int], None]]
    probe: Callable[[str], int]
    requests: Callable[[], dict[str, int]]
    http: str = ""


@dataclass(frozen=True)
class SdkBench:
    """What one SDK's benchmark measures; the method around it is this module's.

    Attributes:
        sdk: The SDK's top-level module ("openai"). It also names the uninstrumented worker and
            the integration attribute: ``tracewire.<sdk>.autolog()``, ``mlflow.<sdk>.autolog()``.
        script: Absolute path of the SDK's benchmark script, re-run for workers and probes.
        title: The report's heading.
        cases: The measured calls.
        mock: Builds the mock server from the imported SDK module.
        resource: Builds the client, as an application does, from the SDK module and an HTTP
            client of the mock server, and returns the resource whose ``create`` the cases call
            (``client.chat.completions``).
        expected_usage: What both libraries must record as the span's and the trace's token
            usage (only these keys are compared; extra keys are shown, not judged).
        patched: ``(module, class, method)`` that autolog patches; each probe checks that it
            really changed, and changed back on ``autolog(disable=True)``.
        request_note: Formats the mock's request counters (``MockServer.counters``) for the
            footer.
        usage_gaps: ``(library, case key)`` pairs for which that library records no token usage
            by design, with the reason; the footer says so instead of flagging the trace.
        notes: Extra header lines (markdown, without the leading dash).
    """

    sdk: str
    script: str
    title: str
    cases: tuple[CallCase, ...]
    mock: Callable[[Any], MockServer]
    resource: Callable[[Any, Any], Any]
    expected_usage: Mapping[str, int]
    patched: tuple[str, str, str]
    request_note: Callable[[dict[str, int]], str]
    usage_gaps: Mapping[tuple[str, str], str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def workers(self) -> tuple[str, ...]:
        """The uninstrumented worker (named after the SDK), then the two libraries."""
        return (self.sdk, *LIBRARIES)

    def label(self, worker: str) -> str:
        """Return the report's name for a worker."""
        return "uninstrumented" if worker == self.sdk else worker


# --------------------------------------------------------------------------------------------------
# Worker side: runs inside one subprocess (uninstrumented, tracewire or mlflow).
# --------------------------------------------------------------------------------------------------


class Uninstrumented:
    """The ``Library`` slice the measurement loop uses, for the worker without tracing."""

    version = ""

    def drain(self, target: int) -> None:
        """Return at once: nothing is ever queued."""
        del target

    def exported(self) -> int:
        """Return 0: nothing is ever stored."""
        return 0

    def clear_store(self) -> None:
        """Do nothing: there is no store."""

    def last_trace(self) -> Any:
        """Return ``None``: there are no traces."""
        return None

    def health(self) -> dict[str, Any]:
        """Return no counters."""
        return {}

    def close(self) -> None:
        """Do nothing."""


def load_library(
    worker: str, sdk: str
) -> tuple[Library | Uninstrumented, Callable[[bool], None] | None]:
    """Set up a worker's tracing library, before the SDK is imported.

    MLflow's in-memory exporter must be in place before anything could trace, hence before the
    SDK is imported; the caller imports the SDK after this returns.

    Args:
        worker: ``"tracewire"``, ``"mlflow"``, or the SDK's name for the uninstrumented worker.
        sdk: The SDK's module name, which is also the integration's attribute on each library.

    Returns:
        The library's bookkeeping, and a toggle turning its autolog for ``sdk`` on or off
        (``None`` for the uninstrumented worker).
    """
    if worker == "mlflow":
        lib: Library | Uninstrumented = MlflowLibrary()
    elif worker == "tracewire":
        lib = TracewireLibrary()
    else:
        return Uninstrumented(), None
    module = importlib.import_module(worker)  # imported already by the bookkeeping above

    def toggle(on: bool) -> None:
        getattr(module, sdk).autolog(disable=not on)

    return lib, toggle


def http_module(sdk: Any) -> Any:
    """Return the HTTP library the installed SDK is built on (``httpx2`` or ``httpx``).

    Both openai and anthropic subclass the library's ``Client`` as ``DefaultHttpxClient``.
    openai accepts a client of either library, but a client of the other one goes through
    compatibility shims; anthropic 2.x refuses one. The benchmark uses the SDK's own, as an
    application with default settings does.
    """
    base = sdk.DefaultHttpxClient.__mro__[1]
    return sys.modules[base.__module__.split(".")[0]]


class MockServer:
    """Base of the SDK mock servers: an ``httpx``-style handler answering one JSON endpoint.

    It parses each request body as a server would, answers a plain request with the body of
    ``json_body`` and a streamed one (``"stream": true``) with the SSE events of ``sse_events``,
    fed to the SDK one by one, and counts what it was asked. Bodies and headers are built once.

    Args:
        sdk: The imported SDK module; the server speaks its HTTP library (see ``http_module``).
        headers: Response headers besides ``content-type``, as the real API sends them.
        sse_headers: Headers only streamed responses carry.

    Attributes:
        http_label: The HTTP library's name and version, for the report.
        requests: Requests answered.
        stream_requests: Requests with ``"stream": true``.
    """

    def __init__(
        self, sdk: Any, headers: Mapping[str, str], sse_headers: Mapping[str, str] = {}
    ) -> None:
        self._http = http = http_module(sdk)
        self.http_label = f"{http.__name__} {dist_version(http.__name__)}"
        self._json_headers = {"content-type": "application/json", **headers}
        self._sse_headers = {
            "content-type": "text/event-stream; charset=utf-8",
            **sse_headers,
            **headers,
        }
        self.requests = 0
        self.stream_requests = 0

    def json_body(self, request: dict[str, Any]) -> bytes:
        """Return the answer to a plain request, whose parsed JSON body is ``request``."""
        raise NotImplementedError

    def sse_events(self, request: dict[str, Any]) -> Sequence[bytes]:
        """Return the SSE events answering a streamed request, one ``bytes`` each."""
        raise NotImplementedError

    def __call__(self, request: Any) -> Any:
        """Answer one request (the ``MockTransport`` handler)."""
        self.requests += 1
        body = json.loads(request.content)
        if not body.get("stream"):
            return self._http.Response(
                200, content=self.json_body(body), headers=self._json_headers
            )
        self.stream_requests += 1
        # An iterator, so the SDK reads the body event by event, as from a socket.
        events: Iterator[bytes] = iter(self.sse_events(body))
        return self._http.Response(200, content=events, headers=self._sse_headers)

    def http_client(self) -> Any:
        """Return a client of the HTTP library that sends every request to this server."""
        return self._http.Client(transport=self._http.MockTransport(self))

    def counters(self) -> dict[str, int]:
        """Return what the server was asked, for the footer."""
        return {"total": self.requests, "stream": self.stream_requests}


def start_session(bench: SdkBench, name: str) -> Session:
    """Set up a worker: its library first, then the SDK, the mock server and one client.

    Args:
        bench: The SDK's benchmark.
        name: The worker: the SDK's name (uninstrumented), ``"tracewire"`` or ``"mlflow"``.

    Returns:
        What the worker measures with.
    """
    lib, toggle = load_library(name, bench.sdk)
    sdk = importlib.import_module(bench.sdk)
    mock = bench.mock(sdk)
    # One client for the whole worker, as an application keeps one. ``create`` is looked up on
    # the resource on every call (never bound once), so autolog's patch of the class is seen.
    resource = bench.resource(sdk, mock.http_client())
    cases = {case.key: case for case in bench.cases}

    def probe(key: str) -> int:
        case = cases[key]
        result = resource.create(**case.kwargs)
        return 0 if case.stream_items is None else sum(1 for _ in result)

    runners = {case.key: _runner(resource, case) for case in bench.cases}
    return Session(lib, toggle, runners, probe, mock.counters, mock.http_label)


def _runner(resource: Any, case: CallCase) -> Callable[[int], None]:
    """Return ``run(n)``: ``n`` calls of the case in a tight loop, each stream read to its end."""
    kwargs = dict(case.kwargs)
    if case.stream_items is None:

        def run(n: int) -> None:
            for _ in range(n):
                resource.create(**kwargs)

    else:

        def run(n: int) -> None:
            for _ in range(n):
                for _item in resource.create(**kwargs):
                    pass

    return run


def _output_preview(outputs: Any) -> str:
    text = outputs if isinstance(outputs, str) else json.dumps(outputs, default=str)
    return text if len(text) <= OUTPUT_PREVIEW_CHARS else text[:OUTPUT_PREVIEW_CHARS] + "…"


def _describe_trace(trace: Any) -> dict[str, Any]:
    """Summarize a stored trace (either library's ``Trace``): spans, type, state, usage, output."""
    if trace is None:
        return {"found": False}
    spans = trace.data.spans
    root = spans[0] if spans else None
    span_usage = root.attributes.get(USAGE_ATTRIBUTE) if root is not None else None
    return {
        "found": True,
        "spans": len(spans),
        "span_name": getattr(root, "name", None),
        "span_type": str(getattr(root, "span_type", None)),
        "span_events": len(getattr(root, "events", None) or ()),
        "state": str(getattr(trace.info.state, "value", trace.info.state)),
        "trace_usage": trace.info.token_usage,
        "span_usage": span_usage,
        "output": _output_preview(getattr(root, "outputs", None)),
    }


def _measure_case(session: Session, case: CallCase, plan: Plan) -> dict[str, Any]:
    """Time ``plan.warmup + plan.batches`` batch pairs (autolog off, on) of ``case.calls`` calls.

    The order within a pair alternates (off-on, on-off, ...), so drift during the case hits both
    alike. The uninstrumented worker pairs an "off" batch with a "repeat" of it instead, paired
    the same way: an A/A comparison, whose differences are the host's alone and so show how
    small an overhead the pairs can resolve on this machine. Per batch: caller-thread CPU while
    the calls run; process CPU and wall time from the first call until the batch's traces are all
    in the store (so background export work is counted). Between batches, outside the timers:
    empty the store, collect garbage.

    Returns:
        Per-call µs of each measured batch by mode and metric, the paired (on - off) differences,
        the trace counts, and a description of the last trace recorded.
    """
    lib, toggle, run = session.lib, session.toggle, session.runners[case.key]
    second = "repeat" if toggle is None else "on"
    modes_per_pair = ("off", second)
    samples: dict[str, dict[str, list[float]]] = {
        mode: {metric: [] for metric in METRICS} for mode in modes_per_pair
    }
    exported = dict.fromkeys(("off", "on", "repeat"), 0)
    for index in range(plan.warmup + plan.batches):
        order = modes_per_pair if index % 2 == 0 else tuple(reversed(modes_per_pair))
        for mode in order:
            if toggle is not None:
                toggle(mode == "on")
            lib.clear_store()
            gc.collect()
            before = lib.exported()
            wall_start = time.perf_counter_ns()
            proc_start = time.process_time_ns()
            cpu_start = time.thread_time_ns()
            run(case.calls)
            cpu_end = time.thread_time_ns()
            lib.drain(before + (case.calls if mode == "on" else 0))
            proc_end = time.process_time_ns()
            wall_end = time.perf_counter_ns()
            exported[mode] += lib.exported() - before
            if index >= plan.warmup:
                per_call = 1e3 * case.calls
                samples[mode]["cpu_us"].append((cpu_end - cpu_start) / per_call)
                samples[mode]["proc_us"].append((proc_end - proc_start) / per_call)
                samples[mode]["wall_us"].append((wall_end - wall_start) / per_call)
    # One more call with autolog on, outside the timers: what the caller saw, what was recorded.
    if toggle is not None:
        toggle(True)
    lib.clear_store()
    before = lib.exported()
    items = session.probe(case.key)
    lib.drain(before + (0 if toggle is None else 1))
    trace = _describe_trace(lib.last_trace()) if toggle is not None else None
    lib.clear_store()
    result: dict[str, Any] = {
        "samples": samples,
        "traced_on": exported["on"],
        "expected_on": (plan.warmup + plan.batches) * case.calls if toggle is not None else 0,
        "traced_off": exported["off"],
        "items_seen": [items] if case.stream_items is not None else [],
        "last_trace": trace,
    }
    result["paired"] = {
        metric: [
            later - off
            for later, off in zip(samples[second][metric], samples["off"][metric], strict=True)
        ]
        for metric in METRICS
    }
    return result


def worker(bench: SdkBench, name: str, plan: Plan) -> int:
    """Run every call case in one subprocess and print the results as one JSON line.

    Args:
        bench: The SDK's benchmark.
        name: The worker: the SDK's name (uninstrumented), ``"tracewire"`` or ``"mlflow"``.
        plan: Batch counts.

    Returns:
        The process exit code: 0, or 1 if the session could not even be set up.
    """
    attempts = guard_network()
    result: dict[str, Any] = {"worker": name, "cases": {}, "network_attempts": attempts}
    try:
        session = start_session(bench, name)
        result["version"] = session.lib.version
        result["http"] = session.http
    except Exception:
        result["error"] = traceback.format_exc()
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 1
    for case in bench.cases:
        try:
            result["cases"][case.key] = _measure_case(session, case, plan)
        except Exception:
            result["cases"][case.key] = {"error": traceback.format_exc()}
    result["requests"] = session.requests()
    try:
        if session.toggle is not None:
            session.toggle(False)
        session.lib.close()
    except Exception:
        result["close_error"] = traceback.format_exc()
    result["health"] = session.lib.health()
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


def autolog_probe(bench: SdkBench, name: str) -> int:
    """In a fresh interpreter: import the SDK, import the library, time its autolog for the SDK.

    The timed statement is exactly what a user writes, ``tracewire.<sdk>.autolog()`` or
    ``mlflow.<sdk>.autolog()``, so resolving the integration attribute (integration lookup, lazy
    submodule import) is part of it; importing the library itself is not (``bench_core.py``
    measures that).

    Args:
        bench: The SDK's benchmark.
        name: ``"tracewire"`` or ``"mlflow"``.

    Returns:
        The process exit code: 0, or 1 if autolog raised.
    """
    attempts = guard_network()
    result: dict[str, Any] = {"library": name, "network_attempts": attempts}
    try:
        start = time.perf_counter_ns()
        sdk = importlib.import_module(bench.sdk)
        imported_sdk = time.perf_counter_ns()
        library = importlib.import_module(name)
        imported_library = time.perf_counter_ns()
        modules_before = set(sys.modules)
        wall_start = time.perf_counter_ns()
        cpu_start = time.process_time_ns()
        getattr(library, bench.sdk).autolog()
        cpu_end = time.process_time_ns()
        wall_end = time.perf_counter_ns()
        new_modules = set(sys.modules) - modules_before
        # Outside the timer: the class autolog patched (imported now if autolog deferred the
        # patch to the SDK's own import), whose method must change back when autolog is
        # disabled if it was really patched.
        module_name, class_name, method = bench.patched
        owner = getattr(importlib.import_module(module_name), class_name)
        patched = owner.__dict__.get(method)
        getattr(library, bench.sdk).autolog(disable=True)
        result.update(
            autolog_ms=(wall_end - wall_start) / 1e6,
            autolog_cpu_ms=(cpu_end - cpu_start) / 1e6,
            import_sdk_ms=(imported_sdk - start) / 1e6,
            import_library_ms=(imported_library - imported_sdk) / 1e6,
            new_modules=len(new_modules),
            new_sdk_modules=sum(1 for m in new_modules if m.split(".")[0] == bench.sdk),
            patched=owner.__dict__.get(method) is not patched,
            sdk_version=sdk.__version__,
        )
        if name == "mlflow":
            # Stop MLflow's background threads, so its exit hook has nothing left to say.
            flush = getattr(library, "flush_trace_async_logging", None)
            if flush is not None:
                flush(terminate=True)
    except Exception:
        result["error"] = traceback.format_exc()
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 1
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------------
# Parent side: launches the workers and the autolog probes.
# --------------------------------------------------------------------------------------------------


def run_workers(bench: SdkBench, plan: Plan, cwd: str) -> dict[str, dict[str, Any]]:
    """Run the three workers ``plan.rounds`` times, rotating which goes first.

    Returns:
        Pooled results by worker name.
    """
    workers = bench.workers
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in workers}
    for index in range(plan.rounds):
        shift = index % len(workers)
        for name in workers[shift:] + workers[:shift]:
            command = [sys.executable, bench.script, "--worker", name]
            command += ["--warmup", str(plan.warmup), "--batches", str(plan.batches)]
            label = f"{bench.label(name)} worker"
            rounds[name].append(run_json_subprocess(command, cwd, label, {"cases": {}}))
    return {name: _pool(results) for name, results in rounds.items()}


def _pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool one worker's rounds: lists concatenated, counts summed, first error and last trace kept.

    Returns:
        The same shape as one round's result.
    """
    pooled: dict[str, Any] = {"cases": {}, "network_attempts": [], "health": {}, "requests": {}}
    for result in rounds:
        for key in ("version", "http"):
            if result.get(key):
                pooled[key] = result[key]
        for key in ("error", "close_error"):
            if key in result:
                pooled.setdefault(key, result[key])
        pooled["network_attempts"] += result.get("network_attempts", [])
        for group in ("health", "requests"):
            for key, value in result.get(group, {}).items():
                previous = pooled[group].get(key)
                both_counts = isinstance(value, int) and isinstance(previous, int)
                pooled[group][key] = previous + value if both_counts else value
        for key, data in result.get("cases", {}).items():
            case = pooled["cases"].setdefault(key, {})
            if "error" in data:
                case.setdefault("error", data["error"])
                continue
            _pool_into(case, data)
    return pooled


def _pool_into(target: dict[str, Any], data: dict[str, Any]) -> None:
    """Merge one round's case data into ``target``: lists extend, ints add, the rest replaces."""
    for key, value in data.items():
        if isinstance(value, dict) and key != "last_trace":
            _pool_into(target.setdefault(key, {}), value)
        elif isinstance(value, list):
            target.setdefault(key, []).extend(value)
        elif isinstance(value, int) and not isinstance(value, bool) and key in target:
            target[key] += value
        elif value is not None or key not in target:
            target[key] = value


def run_autolog_probes(bench: SdkBench, plan: Plan, cwd: str) -> dict[str, dict[str, Any]]:
    """Time each library's autolog for the SDK in ``plan.import_runs`` fresh interpreters each.

    Launches alternate between the libraries, after ``DISCARDED_PROBES`` discarded launches each.

    Returns:
        By library: the lists of every measure over the kept launches, and the first error.
    """
    results: dict[str, dict[str, Any]] = {name: {} for name in LIBRARIES}
    for index in range(DISCARDED_PROBES + plan.import_runs):
        for name in LIBRARIES:
            command = [sys.executable, bench.script, "--autolog-probe", name]
            result = run_json_subprocess(command, cwd, f"{name} autolog probe", {})
            pooled = results[name]
            if "error" in result:
                pooled.setdefault("error", result["error"])
                continue
            if index < DISCARDED_PROBES:
                continue
            for key, value in result.items():
                if key == "network_attempts":
                    pooled.setdefault(key, []).extend(value)
                elif key in PROBE_MEASURES:
                    pooled.setdefault(key, []).append(value)
                elif key == "patched":
                    pooled[key] = pooled.get(key, True) and value
                else:
                    pooled[key] = value
    return results


def main(bench: SdkBench, description: str, argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark (parent), one worker (``--worker``) or one probe.

    Args:
        bench: The SDK's benchmark.
        description: The command's one-line help.
        argv: Command-line arguments; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit code: 1 if anything crashed, else 0 (budget misses included).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--worker", choices=bench.workers, help=argparse.SUPPRESS)
    parser.add_argument("--autolog-probe", choices=LIBRARIES, help=argparse.SUPPRESS)
    add_plan_arguments(parser)
    # --import-runs is bench_core.py's name for its launches: accepted too, so that one set of
    # arguments (``nox -s bench -- ...``) can be passed to every script.
    parser.add_argument(
        "--autolog-runs",
        "--import-runs",
        dest="autolog_runs",
        type=int,
        default=DEFAULT_AUTOLOG_RUNS,
    )
    args = parser.parse_args(argv)
    plan = plan_from_args(args, import_runs=args.autolog_runs, importtime_runs=0)
    if args.worker:
        return worker(bench, args.worker, plan)
    if args.autolog_probe:
        return autolog_probe(bench, args.autolog_probe)

    started = time.perf_counter()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix=f"bench_{bench.sdk}_") as cwd:
        results = run_workers(bench, plan, cwd)
        probes = run_autolog_probes(bench, plan, cwd)
    # Here, not at the top: workers and probes never need the report.
    from bench_sdk_report import render

    lines, crashed = render(bench, results, probes, plan, load_before)
    lines.append(f"- total benchmark time: {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    return 1 if crashed else 0

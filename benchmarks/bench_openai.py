"""Benchmark what OpenAI autologging adds to a call, tracewire next to MLflow, in one run.

Run with ``nox -s bench`` (or ``python benchmarks/bench_openai.py`` in a venv holding tracewire,
openai and mlflow-tracing). ``client.chat.completions.create`` is served by an in-process
``MockTransport`` with realistic bodies, so only the SDK, the tracing library and Python run.
Uninstrumented, tracewire and MLflow each run in their own subprocess, in rotating order; inside
the two library workers, batches with autolog off and on alternate, so each overhead is a paired,
same-process difference. A second part times ``<library>.openai.autolog()`` right after
``import openai`` in fresh interpreters. This parent process imports none of the libraries and
prints one markdown report. ``benchmarks/README.md`` ("OpenAI autolog") describes the method.

The helpers shared with ``bench_core.py`` (MLflow's offline in-memory configuration, the socket
guard, the worker protocol, formatting) are imported from it: run this file as a script, so that
its own folder is on ``sys.path``.

The process exits 0 even when a budget is missed (the table says MISS) and 1 only when something
crashed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench_core import (
    RESULT_MARKER,
    Library,
    MlflowLibrary,
    Plan,
    TracewireLibrary,
    dist_version,
    fmt,
    guard_network,
    load_average,
    machine,
    median,
    ratio,
    run_json_subprocess,
    verdict,
)

# "openai" is the uninstrumented worker: it imports neither tracing library.
WORKERS = ("openai", "tracewire", "mlflow")
LIBRARIES = ("tracewire", "mlflow")
LABELS = {"openai": "uninstrumented", "tracewire": "tracewire", "mlflow": "mlflow"}

# Budgets: tracewire's caller-thread CPU overhead over the uninstrumented call, and the wall time of
# ``tracewire.openai.autolog()`` right after ``import openai``.
OVERHEAD_BUDGET_PCT = 3.0
AUTOLOG_BUDGET_MS = 20.0

# How far the uninstrumented batches of two workers may differ before the footer flags the run.
NOISE_TOLERANCE = 0.1

DEFAULT_AUTOLOG_RUNS = 7
# What each autolog probe measures (numbers, pooled as lists over launches).
PROBE_MEASURES = (
    "autolog_ms",
    "autolog_cpu_ms",
    "import_openai_ms",
    "import_library_ms",
    "new_modules",
    "new_openai_modules",
)
USAGE_ATTRIBUTE = "mlflow.chat.tokenUsage"

# --------------------------------------------------------------------------------------------------
# The mock OpenAI server: realistic bodies, built once; answered in process.
# --------------------------------------------------------------------------------------------------

MODEL = "gpt-4o-mini"
MESSAGES = [
    {"role": "system", "content": "You are a concise geography assistant. Answer in one sentence."},
    {"role": "user", "content": "What is the capital of France, and how many people live there?"},
]
ANSWER = (
    "The capital of France is Paris, which sits on the Seine and has about two million residents."
)
ANSWER_WORDS = ANSWER.split(" ")
PROMPT_TOKENS = 38
COMPLETION_TOKENS = len(ANSWER_WORDS)  # 17: one token per content chunk
USAGE = {
    "prompt_tokens": PROMPT_TOKENS,
    "completion_tokens": COMPLETION_TOKENS,
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
# What both libraries must record as the span's (and the trace's) token usage.
EXPECTED_USAGE = {
    "input_tokens": PROMPT_TOKENS,
    "output_tokens": COMPLETION_TOKENS,
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
}
COMPLETION_ID = "chatcmpl-BfK3xq7Yw2mZc9rT4nLp8sVd1eHa"
CREATED = 1_763_750_000
FINGERPRINT = "fp_560af6e559"
RESPONSE_HEADERS = {
    "x-request-id": "req_5f0c1e2d3b4a59687766554433221100",
    "openai-organization": "user-abc123",
    "openai-processing-ms": "412",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-limit-tokens": "10000000",
    "x-ratelimit-remaining-tokens": "9999950",
}
CHAT_BODY = json.dumps(
    {
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": ANSWER,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
).encode()


def _sse_event(choices: list[dict[str, Any]], *, usage_field: bool, usage: Any = None) -> bytes:
    chunk: dict[str, Any] = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
    }
    if usage_field:
        # With include_usage, OpenAI sends "usage": null on every chunk but the last one.
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _stream_events(*, include_usage: bool) -> list[bytes]:
    """Build one streamed answer: role, 17 content chunks, finish, [usage], ``[DONE]``.

    Args:
        include_usage: The request asked for ``stream_options.include_usage``: add the usage-only
            chunk (``"choices": []``), which makes 20 chunks.

    Returns:
        The SSE events, one ``bytes`` each, as a server writes them.
    """

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

    words = [word if index == 0 else " " + word for index, word in enumerate(ANSWER_WORDS)]
    events = [
        _sse_event(
            choice({"role": "assistant", "content": "", "refusal": None}),
            usage_field=include_usage,
        ),
        *(_sse_event(choice({"content": word}), usage_field=include_usage) for word in words),
        _sse_event(choice({}, "stop"), usage_field=include_usage),
    ]
    if include_usage:
        events.append(_sse_event([], usage_field=True, usage=USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


STREAM_CHUNKS = len(_stream_events(include_usage=True)) - 1  # 20; [DONE] is no chunk


class MockOpenAI:
    """An ``httpx``-style handler answering ``POST /chat/completions`` like the real API.

    It parses each request body as a server would, answers a streamed request with the usage
    chunk only when ``stream_options.include_usage`` is set, and counts what it was asked.

    Attributes:
        requests: Requests answered.
        stream_requests: Requests with ``"stream": true``.
        usage_requested: Streamed requests that asked for ``include_usage``.
    """

    def __init__(self, http: Any) -> None:
        self._http = http
        self._json_headers = {"content-type": "application/json", **RESPONSE_HEADERS}
        self._sse_headers = {"content-type": "text/event-stream; charset=utf-8", **RESPONSE_HEADERS}
        self._events = {flag: _stream_events(include_usage=flag) for flag in (False, True)}
        self.requests = 0
        self.stream_requests = 0
        self.usage_requested = 0

    def __call__(self, request: Any) -> Any:
        """Answer one request (the ``MockTransport`` handler)."""
        self.requests += 1
        body = json.loads(request.content)
        if not body.get("stream"):
            return self._http.Response(200, content=CHAT_BODY, headers=self._json_headers)
        self.stream_requests += 1
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.usage_requested += include_usage
        # An iterator, so the SDK reads the body event by event, as from a socket.
        events: Iterator[bytes] = iter(self._events[include_usage])
        return self._http.Response(200, content=events, headers=self._sse_headers)


def _http_module(openai: Any) -> Any:
    """Return the HTTP library the installed openai is built on (httpx2 for 3.x, httpx for 2.x).

    openai accepts a client of either library, but a client of the other one goes through
    compatibility shims; the benchmark uses the SDK's own, as an application with default
    settings does.
    """
    base = openai.DefaultHttpxClient.__mro__[1]
    return sys.modules[base.__module__.split(".")[0]]


def _make_client(openai: Any, mock: MockOpenAI, http: Any) -> Any:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=http.Client(transport=http.MockTransport(mock)),
    )


# --------------------------------------------------------------------------------------------------
# Worker side: runs inside one subprocess (uninstrumented, tracewire or mlflow).
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallCase:
    """One measured kind of call.

    Attributes:
        key: Stable identifier used in the worker's JSON.
        title: Markdown label.
        calls: Calls per batch.
    """

    key: str
    title: str
    calls: int


CASES = (
    CallCase("chat", "`chat.completions.create` → `ChatCompletion` with usage", 30),
    CallCase(
        "stream",
        f"`chat.completions.create(stream=True)`, {STREAM_CHUNKS} chunks consumed "
        '(all three pass `stream_options={"include_usage": True}`)',
        15,
    ),
)
METRICS = ("cpu_us", "proc_us", "wall_us")


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


@dataclass
class Session:
    """What one worker measures with.

    Attributes:
        lib: The tracing library's bookkeeping (store, drain), or the no-op stand-in.
        toggle: Turns the library's OpenAI autolog on or off; ``None`` for the uninstrumented
            worker, which only measures "off" batches.
        runners: One ``run(n)`` per case: ``n`` calls in a tight loop.
        probe: One call of a case outside any timer; returns the chunks the caller saw.
        mock: The mock server, for its request counters.
    """

    lib: Library | Uninstrumented
    toggle: Callable[[bool], None] | None
    runners: dict[str, Callable[[int], None]]
    probe: Callable[[str], int]
    mock: MockOpenAI


def _session(name: str) -> Session:
    """Import openai (and the library), build the client and the callables a worker needs."""
    lib: Library | Uninstrumented
    toggle: Callable[[bool], None] | None = None
    if name == "mlflow":
        # Before openai, so the in-memory exporter is in place before anything could trace.
        lib = MlflowLibrary()
        import mlflow

        def toggle(on: bool) -> None:
            mlflow.openai.autolog(disable=not on)

    elif name == "tracewire":
        lib = TracewireLibrary()
        import tracewire

        def toggle(on: bool) -> None:
            tracewire.openai.autolog(disable=not on)

    else:
        lib = Uninstrumented()
    import openai

    lib.version = lib.version or openai.__version__
    http = _http_module(openai)
    mock = MockOpenAI(http)
    # One client for the whole worker, as an application keeps one. ``completions.create`` is
    # looked up on every call (never bound once), so autolog's patch of the class is seen.
    completions = _make_client(openai, mock, http).chat.completions

    def chat(n: int) -> None:
        for _ in range(n):
            completions.create(model=MODEL, messages=MESSAGES)

    def stream(n: int) -> None:
        for _ in range(n):
            for _chunk in completions.create(
                model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            ):
                pass

    def probe(case: str) -> int:
        if case == "chat":
            completions.create(model=MODEL, messages=MESSAGES)
            return 0
        chunks = completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        return sum(1 for _ in chunks)

    return Session(lib, toggle, {"chat": chat, "stream": stream}, probe, mock)


def _describe_trace(trace: Any) -> dict[str, Any]:
    """Summarize a stored trace (either library's ``Trace``): spans, type, state, usage."""
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
    }


def _measure_case(session: Session, case: CallCase, plan: Plan) -> dict[str, Any]:
    """Time ``plan.warmup + plan.batches`` batch pairs (autolog off, on) of ``case.calls`` calls.

    The order within a pair alternates (off-on, on-off, ...), so drift during the case hits both
    alike. The uninstrumented worker runs only the "off" half. Per batch: caller-thread CPU while
    the calls run; process CPU and wall time from the first call until the batch's traces are all
    in the store (so background export work is counted). Between batches, outside the timers:
    empty the store, collect garbage.

    Returns:
        Per-call µs of each measured batch by mode and metric, the paired (on - off) differences,
        the trace counts, and a description of the last trace recorded.
    """
    lib, toggle, run = session.lib, session.toggle, session.runners[case.key]
    modes_per_pair = ("off",) if toggle is None else ("off", "on")
    samples: dict[str, dict[str, list[float]]] = {
        mode: {metric: [] for metric in METRICS} for mode in modes_per_pair
    }
    exported = {"off": 0, "on": 0}
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
    chunks = session.probe(case.key)
    lib.drain(before + (0 if toggle is None else 1))
    trace = _describe_trace(lib.last_trace()) if toggle is not None else None
    lib.clear_store()
    result: dict[str, Any] = {
        "samples": samples,
        "traced_on": exported["on"],
        "expected_on": (plan.warmup + plan.batches) * case.calls if toggle is not None else 0,
        "traced_off": exported["off"],
        "chunks_seen": [chunks] if case.key == "stream" else [],
        "last_trace": trace,
    }
    if toggle is not None:
        result["paired"] = {
            metric: [
                on - off
                for on, off in zip(samples["on"][metric], samples["off"][metric], strict=True)
            ]
            for metric in METRICS
        }
    return result


def worker(name: str, plan: Plan) -> int:
    """Run both call cases in one subprocess and print the results as one JSON line.

    Args:
        name: ``"openai"`` (uninstrumented), ``"tracewire"`` or ``"mlflow"``.
        plan: Batch counts.

    Returns:
        The process exit code: 0, or 1 if the session could not even be set up.
    """
    attempts = guard_network()
    result: dict[str, Any] = {"worker": name, "cases": {}, "network_attempts": attempts}
    try:
        session = _session(name)
        result["version"] = session.lib.version
    except Exception:
        result["error"] = traceback.format_exc()
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 1
    for case in CASES:
        try:
            result["cases"][case.key] = _measure_case(session, case, plan)
        except Exception:
            result["cases"][case.key] = {"error": traceback.format_exc()}
    result["requests"] = {
        "total": session.mock.requests,
        "stream": session.mock.stream_requests,
        "stream_with_include_usage": session.mock.usage_requested,
    }
    try:
        if session.toggle is not None:
            session.toggle(False)
        session.lib.close()
    except Exception:
        result["close_error"] = traceback.format_exc()
    result["health"] = session.lib.health()
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


def autolog_probe(name: str) -> int:
    """In a fresh interpreter: ``import openai``, import the library, time its openai autolog.

    The timed statement is exactly what a user writes, ``tracewire.openai.autolog()`` or
    ``mlflow.openai.autolog()``, so resolving the ``openai`` attribute (integration lookup, lazy
    submodule import) is part of it; importing the library itself is not (``bench_core.py``
    measures that).

    Args:
        name: ``"tracewire"`` or ``"mlflow"``.

    Returns:
        The process exit code: 0, or 1 if autolog raised.
    """
    attempts = guard_network()
    result: dict[str, Any] = {"library": name, "network_attempts": attempts}
    try:
        start = time.perf_counter_ns()
        import openai

        imported_openai = time.perf_counter_ns()
        if name == "tracewire":
            import tracewire

            library: Any = tracewire
        else:
            import mlflow

            library = mlflow
        imported_library = time.perf_counter_ns()
        modules_before = set(sys.modules)
        wall_start = time.perf_counter_ns()
        cpu_start = time.process_time_ns()
        library.openai.autolog()
        cpu_end = time.process_time_ns()
        wall_end = time.perf_counter_ns()
        new_modules = set(sys.modules) - modules_before
        # Outside the timer: the class autolog patched (imported now if autolog deferred the
        # patch to the SDK's own import), whose ``create`` must change back when autolog is
        # disabled if it was really patched.
        from openai.resources.chat.completions import Completions

        patched_create = Completions.__dict__.get("create")
        library.openai.autolog(disable=True)
        result.update(
            autolog_ms=(wall_end - wall_start) / 1e6,
            autolog_cpu_ms=(cpu_end - cpu_start) / 1e6,
            import_openai_ms=(imported_openai - start) / 1e6,
            import_library_ms=(imported_library - imported_openai) / 1e6,
            new_modules=len(new_modules),
            new_openai_modules=sum(1 for m in new_modules if m.split(".")[0] == "openai"),
            patched=Completions.__dict__.get("create") is not patched_create,
            openai_version=openai.__version__,
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
# Parent side: launches the workers and the autolog probes, prints the report.
# --------------------------------------------------------------------------------------------------


def run_workers(plan: Plan, cwd: str) -> dict[str, dict[str, Any]]:
    """Run the three workers ``plan.rounds`` times, rotating which goes first.

    Returns:
        Pooled results by worker name.
    """
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in WORKERS}
    script = os.path.abspath(__file__)
    for index in range(plan.rounds):
        shift = index % len(WORKERS)
        for name in WORKERS[shift:] + WORKERS[:shift]:
            command = [sys.executable, script, "--worker", name]
            command += ["--warmup", str(plan.warmup), "--batches", str(plan.batches)]
            label = f"{LABELS[name]} worker"
            rounds[name].append(run_json_subprocess(command, cwd, label, {"cases": {}}))
    return {name: _pool(results) for name, results in rounds.items()}


def _pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool one worker's rounds: lists concatenated, counts summed, first error and last trace kept.

    Returns:
        The same shape as one round's result.
    """
    pooled: dict[str, Any] = {"cases": {}, "network_attempts": [], "health": {}, "requests": {}}
    for result in rounds:
        if result.get("version"):
            pooled["version"] = result["version"]
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


def run_autolog_probes(plan: Plan, cwd: str) -> dict[str, dict[str, Any]]:
    """Time each library's ``openai.autolog()`` in ``plan.import_runs`` fresh interpreters each.

    Launches alternate between the libraries, after two discarded launches each (the first writes
    any missing ``.pyc`` files, the second warms the page cache).

    Returns:
        By library: the lists of every measure over the kept launches, and the first error.
    """
    script = os.path.abspath(__file__)
    results: dict[str, dict[str, Any]] = {name: {} for name in LIBRARIES}
    for index in range(2 + plan.import_runs):
        for name in LIBRARIES:
            command = [sys.executable, script, "--autolog-probe", name]
            result = run_json_subprocess(command, cwd, f"{name} autolog probe", {})
            pooled = results[name]
            if "error" in result:
                pooled.setdefault("error", result["error"])
                continue
            if index < 2:
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


# --------------------------------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------------------------------


def _cell(data: dict[str, Any], *path: str) -> float | None:
    """Return the median of the list at ``path`` in a case's data, or ``None`` if absent."""
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return median(node) if node else None


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + fmt(abs(value))


def _overhead(delta: float | None, base: float | None) -> str:
    if delta is None or not base:
        return "n/a"
    return f"{_signed(delta)} µs ({'+' if delta >= 0 else '-'}{abs(delta) / base * 100:.1f} %)"


def _overhead_ratio(mlflow_delta: float | None, tracewire_delta: float | None) -> str:
    if mlflow_delta is None or tracewire_delta is None:
        return "n/a"
    if tracewire_delta <= 0:
        return "n/a (tracewire ≤ 0)"
    return ratio(mlflow_delta, tracewire_delta)


def _mlflow_distribution() -> str:
    for dist in ("mlflow", "mlflow-tracing"):
        version = dist_version(dist)
        if version != "not installed":
            return f"{dist} {version}"
    return "mlflow not installed"


def _header(results: dict[str, dict[str, Any]], plan: Plan, load_before: str) -> list[str]:
    pairs = plan.rounds * plan.batches
    http = "httpx2" if dist_version("httpx2") != "not installed" else "httpx"
    return [
        "# OpenAI autolog overhead: tracewire vs MLflow",
        "",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{machine()}; load average 1/5/15 min: {load_before} at start, {load_average()} at end",
        f"- openai {dist_version('openai')} (through {http} {dist_version(http)}'s `MockTransport`, "
        f"in process), tracewire {results['tracewire'].get('version') or dist_version('tracewire')}"
        f", {_mlflow_distribution()}",
        f"- 3 workers (uninstrumented, tracewire, mlflow), each its own subprocess, "
        f"{plan.rounds} rounds in rotating order; per case and round {plan.warmup} warm-up + "
        f"{plan.batches} measured batches (calls per batch: "
        + ", ".join(f"{case.key} {case.calls}" for case in CASES)
        + f"), so each number is the median of {pairs} per-batch means. In the library workers "
        "every batch with autolog on is paired with one with autolog off, in alternating order; "
        "the overhead is the median of the paired differences, and % is over the same worker's "
        "off batches",
        "- **caller CPU** = `time.thread_time_ns()` of the calling thread / calls (budget). "
        "**process CPU** = `time.process_time_ns()` from the first call until all traces are in "
        "the store, / calls: includes background export threads. **wall** = `perf_counter` over "
        "the same span",
        "- MLflow: `mlflow.openai.autolog()`, default pipeline, exporter writing to an in-memory "
        "dict (as in bench_core.py); tracewire: `tracewire.openai.autolog()`, default in-memory "
        "destination. No network (socket guard in every subprocess)",
        "",
    ]


def _case_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """One row per case and measure; each library shows its own off and on batches.

    The overhead is the median of the paired differences, so it can differ a little from the
    difference of the two medians shown beside it.
    """
    lines = [
        "| # | case | measure | uninstrumented worker µs | tracewire off → on µs "
        "| tracewire overhead | mlflow off → on µs | mlflow overhead | overhead ratio mlflow/tw "
        "| budget (tracewire) | result |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    names = {"cpu_us": "caller CPU", "proc_us": "process CPU", "wall_us": "wall"}
    for number, case in enumerate(CASES, start=1):
        data = {name: results[name]["cases"].get(case.key, {}) for name in WORKERS}
        for letter, metric in zip("abc", METRICS, strict=True):
            bare = _cell(data["openai"], "samples", "off", metric)
            cells = [f"{number}{letter}", case.title if letter == "a" else "", names[metric]]
            cells.append("CRASH" if bare is None else fmt(bare))
            deltas: dict[str, float | None] = {}
            offs: dict[str, float | None] = {}
            for name in LIBRARIES:
                on = _cell(data[name], "samples", "on", metric)
                offs[name] = _cell(data[name], "samples", "off", metric)
                deltas[name] = _cell(data[name], "paired", metric)
                shown = "CRASH" if on is None else f"{fmt(offs[name])} → {fmt(on)}"
                cells += [shown, _overhead(deltas[name], offs[name])]
            cells.append(_overhead_ratio(deltas["mlflow"], deltas["tracewire"]))
            if metric == "cpu_us":
                delta, off = deltas["tracewire"], offs["tracewire"]
                ok = None if delta is None or not off else delta / off * 100 <= OVERHEAD_BUDGET_PCT
                cells += [
                    f"≤ {OVERHEAD_BUDGET_PCT:g} % over autolog off",
                    "CRASH" if ok is None else verdict(ok),
                ]
            else:
                cells += ["(no budget)", ""]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _autolog_table(probes: dict[str, dict[str, Any]], runs: int) -> list[str]:
    lines = [
        "",
        f"| 3 | `X.openai.autolog()` right after `import openai`, median of {runs} fresh "
        "interpreters | tracewire | mlflow | ratio mlflow/tw | budget (tracewire) | result |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    medians = {
        name: {key: median(value) for key, value in probes[name].items() if key in PROBE_MEASURES}
        for name in LIBRARIES
        if "autolog_ms" in probes[name]
    }
    tw, ml = medians.get("tracewire", {}), medians.get("mlflow", {})
    wall = [tw.get("autolog_ms"), ml.get("autolog_ms")]
    result = "CRASH" if wall[0] is None else verdict(wall[0] <= AUTOLOG_BUDGET_MS)
    lines.append(
        f"| 3a | wall ms | {_ms(wall[0])} | {_ms(wall[1])} | {ratio(wall[1], wall[0])} "
        f"| ≤ {AUTOLOG_BUDGET_MS:g} ms | {result} |"
    )
    cpu = [tw.get("autolog_cpu_ms"), ml.get("autolog_cpu_ms")]
    lines.append(
        f"| 3b | process CPU ms | {_ms(cpu[0])} | {_ms(cpu[1])} | {ratio(cpu[1], cpu[0])} | | |"
    )
    modules = [
        "CRASH" if not data else f"{data['new_modules']:.0f} ({data['new_openai_modules']:.0f})"
        for data in (tw, ml)
    ]
    lines.append(
        f"| 3c | modules the call imported (of them `openai.*`) | {modules[0]} | {modules[1]} "
        "| | | |"
    )
    return lines


def _ms(value: float | None) -> str:
    return "CRASH" if value is None else fmt(value)


def _usage_check(trace: dict[str, Any] | None) -> str:
    """Describe the last recorded trace and whether its token usage is the mock's."""
    if not trace or not trace.get("found"):
        return "last trace: **none recorded (!)**"
    span_usage = trace.get("span_usage") or {}
    trace_usage = trace.get("trace_usage") or {}
    ok = all(
        span_usage.get(key) == value and trace_usage.get(key) == value
        for key, value in EXPECTED_USAGE.items()
    )
    mark = "usage OK" if ok else f"**usage is not {EXPECTED_USAGE} (!)**"
    return (
        f"last trace: {trace['spans']} span{'' if trace['spans'] == 1 else 's (!)'} "
        f"`{trace['span_name']}` ({trace['span_type']}, "
        f"{trace['state']}, {trace['span_events']} span events), "
        + (
            f"span and trace usage {span_usage}"
            if span_usage == trace_usage
            else f"span usage {span_usage or None}, trace usage {trace_usage or None}"
        )
        + f": {mark}"
    )


def _footer(
    results: dict[str, dict[str, Any]], probes: dict[str, dict[str, Any]]
) -> tuple[list[str], bool]:
    """Return the integrity notes (traces, usage, requests, network) and whether anything crashed."""
    lines = [""]
    crashed = False
    for name in WORKERS:
        result, label = results[name], LABELS[name]
        if "error" in result:
            crashed = True
            lines.append(f"- **{label} worker crashed**:\n```\n{result['error']}```")
            continue
        notes = []
        for case in CASES:
            data = result["cases"].get(case.key, {"error": "missing"})
            if "error" in data:
                crashed = True
                lines.append(f"- **{label} case {case.key} crashed**:\n```\n{data['error']}```")
                continue
            parts = []
            if name != "openai":
                traced, expected = data["traced_on"], data["expected_on"]
                parts.append(
                    f"traces stored {traced}" + ("" if traced == expected else f"/{expected} (!)")
                )
                off = data["traced_off"]
                parts.append(f"with autolog off {off}" + ("" if off == 0 else " (!)"))
                parts.append(_usage_check(data.get("last_trace")))
            if case.key == "stream":
                seen = sorted(set(data["chunks_seen"]))
                mark = "" if seen == [STREAM_CHUNKS] else " (!)"
                parts.append(f"chunks the caller saw per call {seen}{mark}")
            if parts:
                notes.append(f"{case.key}: " + "; ".join(parts))
        requests = result.get("requests", {})
        stream, with_usage = requests.get("stream", 0), requests.get("stream_with_include_usage", 0)
        usage_mark = "" if stream == with_usage else " (!)"
        health = ", ".join(f"{key}={value}" for key, value in result.get("health", {}).items())
        attempts = result.get("network_attempts", [])
        lines.append(
            f"- {label}: "
            + "".join(note + " — " for note in notes)
            + f"requests {requests.get('total', 0)}, "
            f"streamed ones asking for include_usage {with_usage}/{stream}{usage_mark}"
            + (f"; {health}" if health else "")
            + f"; network attempts {len(attempts)}"
            + (f" {attempts[:3]} (!)" if attempts else "")
        )
        if "close_error" in result:
            lines.append(f"- {label} close() failed:\n```\n{result['close_error']}```")
    for name in LIBRARIES:
        probe = probes[name]
        if "error" in probe:
            crashed = True
            lines.append(f"- **{name} autolog probe crashed**:\n```\n{probe['error']}```")
            continue
        if "autolog_ms" not in probe:
            continue
        attempts = probe.get("network_attempts", [])
        lines.append(
            f"- {name} autolog probes: `import openai` {median(probe['import_openai_ms']):.0f} ms, "
            f"then `import {name}` {median(probe['import_library_ms']):.0f} ms (not counted in "
            f"row 3); `Completions.create` was patched (and restored by `autolog(disable=True)`): "
            f"{'yes' if probe.get('patched') else 'NO (!)'}; "
            f"network attempts {len(attempts)}" + (f" {attempts[:3]} (!)" if attempts else "")
        )
    return lines, crashed


def _noise_warning(results: dict[str, dict[str, Any]]) -> list[str]:
    """Compare the uninstrumented batches of the three workers (same work, same SDK).

    The library workers' "off" batches run the SDK unpatched, exactly like the uninstrumented
    worker, so all three should agree; a gap means the machine was busier during one worker, or
    that merely importing the library (autolog off) slows the SDK down.
    """
    lines = []
    for case in CASES:
        values = {
            name: _cell(results[name]["cases"].get(case.key, {}), "samples", "off", "cpu_us")
            for name in WORKERS
        }
        known = {name: value for name, value in values.items() if value is not None}
        if len(known) < 2:
            continue
        shown = ", ".join(f"{LABELS[name]} {fmt(value)}" for name, value in known.items())
        spread = max(known.values()) / min(known.values()) - 1
        flag = (
            f" — **noisy: {spread * 100:.0f} % apart**; rerun on a quieter machine or with more "
            "`--rounds`"
            if spread > NOISE_TOLERANCE
            else ""
        )
        lines.append(
            f"- {case.key}: caller CPU µs of the batches with autolog off, by worker: {shown}"
            + flag
        )
    return lines


def _spread(results: dict[str, dict[str, Any]]) -> list[str]:
    """Show the quartiles of the paired caller-CPU differences: how sure each overhead is."""
    parts = []
    for case in CASES:
        shown = []
        for name in LIBRARIES:
            node = results[name]["cases"].get(case.key, {}).get("paired", {}).get("cpu_us", [])
            if len(node) >= 2:
                q1, q2, q3 = statistics.quantiles(node, n=4)
                shown.append(f"{name} {_signed(q1)} / {_signed(q2)} / {_signed(q3)}")
        if shown:
            parts.append(f"{case.key}: " + ", ".join(shown))
    if not parts:
        return []
    return [
        "- quartiles of the paired caller-CPU differences (on - off, µs per call): "
        + "; ".join(parts)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark (parent), one worker (``--worker``) or one probe.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit code: 1 if anything crashed, else 0 (budget misses included).
    """
    defaults = Plan()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--autolog-probe", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--batches", type=int, default=defaults.batches)
    # --import-runs is bench_core.py's name for its launches: accepted too, so that one set of
    # arguments (``nox -s bench -- ...``) can be passed to both scripts.
    parser.add_argument(
        "--autolog-runs",
        "--import-runs",
        dest="autolog_runs",
        type=int,
        default=DEFAULT_AUTOLOG_RUNS,
    )
    parser.add_argument(
        "--quick", action="store_true", help="few batches and launches: a smoke test, not a result"
    )
    args = parser.parse_args(argv)
    if args.quick:
        plan = Plan(rounds=1, warmup=1, batches=3, import_runs=3, importtime_runs=0)
    else:
        plan = Plan(
            rounds=args.rounds,
            warmup=args.warmup,
            batches=args.batches,
            import_runs=args.autolog_runs,
            importtime_runs=0,
        )
    if args.worker:
        return worker(args.worker, plan)
    if args.autolog_probe:
        return autolog_probe(args.autolog_probe)

    started = time.perf_counter()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench_openai_") as cwd:
        results = run_workers(plan, cwd)
        probes = run_autolog_probes(plan, cwd)
    lines = _header(results, plan, load_before)
    lines += _case_table(results)
    lines += _autolog_table(probes, plan.import_runs)
    footer, crashed = _footer(results, probes)
    lines += footer
    lines += _spread(results)
    lines += _noise_warning(results)
    lines.append(f"- total benchmark time: {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

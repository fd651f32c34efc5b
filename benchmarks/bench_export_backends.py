"""Benchmark the traced program's own timing while its OTLP backend is down, slow or failing.

The traced program is a loop recording traces of 3 spans (as in ``bench_store.py``), timed on the
caller's thread in 10 chunks: CPU (``time.thread_time_ns``) and wall time of the loop, per trace.
Each destination runs in a fresh worker subprocess (``--worker``), with ``bench_core``'s clean
environment, in ``--rounds`` (5) rounds whose order alternates:

- ``memory``: ``memory://``, the reference;
- ``otlp-ok``: OTLP (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) to a receiver answering 200 at once;
- ``otlp-down``: OTLP to a closed port on 127.0.0.1 (connection refused);
- ``otlp-slow``: OTLP to a receiver that sleeps ``SLOW_S`` (2 s) before answering 200;
- ``otlp-500``: OTLP to a receiver answering 500 to everything.

The receivers are stdlib ``http.server`` servers in threads of this parent process, on 127.0.0.1;
nothing leaves the machine. Retry settings are tracewire's defaults. After the loop the worker calls
``tracewire.flush(--flush-timeout)`` and reports exported, dropped and still queued traces and the
warnings logged; a handler registered before ``import tracewire`` reports the same after the
interpreter's exit flush. Budget: caller CPU and loop wall time per trace within 10 % of
``memory://``'s (median of per-round paired ratios). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench_core import RESULT_MARKER, clean_env, fmt, load_average, machine, median, verdict

EXIT_MARKER = "BENCH_EXIT_JSON:"
TRACES = 5_000  # chunks of 500 traces, about 10 ms each: long enough to time steadily
CHUNKS = 10
WARMUP = 50
# Long enough for the warm-up batch to build the destination (and import the protobuf classes)
# before timing starts; short, because a failing backend makes it wait the whole time.
WARMUP_FLUSH_S = 0.5
FLUSH_TIMEOUT_S = 3.0
SLOW_S = 2.0
BUDGET = 1.10  # caller CPU and loop wall per trace, each OTLP backend / memory://
KINDS = {
    "memory": "memory:// (reference)",
    "otlp-ok": "OTLP, receiver healthy",
    "otlp-down": "OTLP, receiver down (closed port)",
    "otlp-slow": f"OTLP, receiver slow ({SLOW_S:g} s per request)",
    "otlp-500": "OTLP, receiver answers 500",
}
DROP_WARNING = "could not deliver"  # the text of the one warning _http_export.report_drop logs


# --------------------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------------------


class WarningCounter(logging.Handler):
    """Keeps the warnings tracewire logs (repeats of a warning are logged at debug level)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the start of the message."""
        self.messages.append(record.getMessage()[:200])


def fire(start_span: Callable[[str], Any], count: int) -> None:
    """Record ``count`` traces of 3 spans (a root and two children) in a tight loop."""
    for _ in range(count):
        with start_span("root"):
            with start_span("retrieve"):
                pass
            with start_span("generate"):
                pass


def worker(traces: int, flush_timeout: float) -> int:
    """Time the loop with the destination the environment names; print the result lines."""
    import atexit

    counter = WarningCounter()
    logging.getLogger("tracewire").addHandler(counter)
    counts: dict[str, Callable[[], int]] = {}

    def after_exit() -> None:
        result: dict[str, Any] = {key: read() for key, read in counts.items()}
        result["warnings"] = counter.messages
        print(EXIT_MARKER + json.dumps(result), flush=True)

    # Registered before tracewire is imported: atexit runs handlers last-in first-out, so this one
    # runs after tracewire's exit flush and sees what it exported, dropped or lost.
    atexit.register(after_exit)
    import tracewire
    from tracewire._export import EXPORTER

    counts["exported"] = lambda: EXPORTER.exported
    counts["dropped"] = lambda: EXPORTER.dropped
    start_span = tracewire.start_span
    fire(start_span, WARMUP)
    tracewire.flush(WARMUP_FLUSH_S)
    chunk = traces // CHUNKS
    cpu_us, loop_us = [], []
    for _ in range(CHUNKS):
        gc.collect()
        wall_start, cpu_start = time.perf_counter_ns(), time.thread_time_ns()
        fire(start_span, chunk)
        cpu_end, wall_end = time.thread_time_ns(), time.perf_counter_ns()
        cpu_us.append((cpu_end - cpu_start) / chunk / 1e3)
        loop_us.append((wall_end - wall_start) / chunk / 1e3)
    start = time.perf_counter()
    drained = tracewire.flush(flush_timeout)
    result = {
        "cpu_us": cpu_us,
        "loop_us": loop_us,
        "fired": WARMUP + chunk * CHUNKS,
        "exported": EXPORTER.exported,
        "dropped": EXPORTER.dropped,
        "drained": drained,
        "flush_s": time.perf_counter() - start,
        "warnings": list(counter.messages),
        "printed_at": time.time(),  # the parent subtracts this from the process end: exit time
    }
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------------
# Parent side: receivers
# --------------------------------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP receiver on 127.0.0.1 that answers ``status`` after ``delay`` seconds.

    Attributes:
        requests: Requests received.
        spans: Spans in the requests answered 200 (decoded with ``opentelemetry-proto``).
    """

    daemon_threads = True  # a slow request still sleeping must not hold up the parent's exit

    def __init__(self, status: int, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.delay = delay
        self.requests = 0
        self.spans = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The OTLP traces URL."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a worker that exits mid-request closes the connection under us."""

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests += 1
        if self.server.delay:
            time.sleep(self.server.delay)
        if self.server.status != 200:
            self.send_response(self.server.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request = ExportTraceServiceRequest.FromString(body)
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")  # an empty ExportTraceServiceResponse: all accepted
        self.end_headers()
        with self.server.lock:
            self.server.spans += spans

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the report counts requests instead."""


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the port was free a moment ago and is closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/traces"


# --------------------------------------------------------------------------------------------------
# Parent side: runs and report
# --------------------------------------------------------------------------------------------------


def run(kind: str, endpoint: str, traces: int, flush_timeout: float) -> dict[str, Any]:
    """Run one worker in a fresh interpreter and directory; return its results (or an error)."""
    env = clean_env()  # TRACEWIRE_TRACKING_URI=memory://, no OTEL_* from the shell
    if endpoint:
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = endpoint
    with tempfile.TemporaryDirectory(prefix=f"bench_export_{kind}_") as directory:
        command = [sys.executable, os.path.abspath(__file__), "--worker", kind,
                   "--traces", str(traces), "--flush-timeout", str(flush_timeout)]  # fmt: skip
        done = subprocess.run(
            command, cwd=directory, env=env, capture_output=True, text=True, check=False,
            timeout=300,
        )  # fmt: skip
        ended = time.time()
    result: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result.update(json.loads(line[len(RESULT_MARKER) :]))
            result["exit_s"] = ended - result["printed_at"]
        elif line.startswith(EXIT_MARKER):
            result["at_exit"] = json.loads(line[len(EXIT_MARKER) :])
    if "cpu_us" not in result or "at_exit" not in result:
        return {"error": f"{kind} exited {done.returncode}:\n{done.stderr[-3000:]}"}
    return result


def _range(values: Sequence[float], digits: int = 0) -> str:
    """One value if all rounds agree, else ``min-max``."""
    if not values:
        return "n/a"
    low, high = f"{min(values):,.{digits}f}", f"{max(values):,.{digits}f}"
    return low if low == high else f"{low}-{high}"


def _paired(rounds: dict[str, list[dict[str, Any]]], kind: str, key: str) -> list[float]:
    """Per round: median chunk of ``kind`` / median chunk of memory://, for ``key``."""
    return [
        median(result[key]) / median(reference[key])
        for result, reference in zip(rounds[kind], rounds["memory"], strict=True)
        if "error" not in result and "error" not in reference
    ]


def _timing_table(rounds: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [
        "| destination | caller CPU per trace (µs) | loop wall per trace (µs) "
        "| CPU / memory:// (rounds) | wall / memory:// (rounds) "
        f"| budget (both ≤ {BUDGET:.2f}) | result |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for kind, label in KINDS.items():
        ok = [r for r in rounds[kind] if "error" not in r]
        cpu = median([us for r in ok for us in r["cpu_us"]])
        wall = median([us for r in ok for us in r["loop_us"]])
        if kind == "memory":
            lines.append(f"| {label} | {fmt(cpu)} | {fmt(wall)} | 1 | 1 | reference | |")
            continue
        cpu_ratios, wall_ratios = _paired(rounds, kind, "cpu_us"), _paired(rounds, kind, "loop_us")
        cpu_ratio, wall_ratio = median(cpu_ratios), median(wall_ratios)
        result = verdict(cpu_ratio <= BUDGET and wall_ratio <= BUDGET) if ok else "CRASH"
        lines.append(
            f"| {label} | {fmt(cpu)} | {fmt(wall)} "
            f"| {cpu_ratio:.3f} ({_range(cpu_ratios, 2)}) | {wall_ratio:.3f} ({_range(wall_ratios, 2)}) "
            f"| CPU {verdict(cpu_ratio <= BUDGET)}, wall {verdict(wall_ratio <= BUDGET)} | {result} |"
        )
    return lines


def _delivery_table(rounds: dict[str, list[dict[str, Any]]], flush_timeout: float) -> list[str]:
    lines = [
        f"| destination | traces fired | after `flush({flush_timeout:g})`: exported / dropped / "
        "queued | flush took (s) | after the exit flush: exported / dropped / lost "
        "| warnings: by flush / by exit | drop warnings (expect ≤ 1) | exit took (s) |",
        "|---|---:|---|---:|---|---|---|---:|",
    ]
    for kind, label in KINDS.items():
        ok = [r for r in rounds[kind] if "error" not in r]
        if not ok:
            lines.append(f"| {label} | CRASH | | | | | | |")
            continue

        def column(read: Callable[[dict[str, Any]], float], digits: int = 0, ok: Any = ok) -> str:
            return _range([read(r) for r in ok], digits)

        drops = [sum(DROP_WARNING in m for m in r["at_exit"]["warnings"]) for r in ok]
        once = all(
            n == (1 if r["at_exit"]["dropped"] else 0) for n, r in zip(drops, ok, strict=True)
        )
        lines.append(
            f"| {label} | {column(lambda r: r['fired'])} "
            f"| {column(lambda r: r['exported'])} / {column(lambda r: r['dropped'])} / "
            f"{column(lambda r: r['fired'] - r['exported'] - r['dropped'])} "
            f"| {column(lambda r: r['flush_s'], 2)} "
            f"| {column(lambda r: r['at_exit']['exported'])} / "
            f"{column(lambda r: r['at_exit']['dropped'])} / "
            f"{column(lambda r: r['fired'] - r['at_exit']['exported'] - r['at_exit']['dropped'])} "
            f"| {column(lambda r: len(r['warnings']))} / "
            f"{column(lambda r: len(r['at_exit']['warnings']))} "
            f"| {_range(drops)} ({verdict(once)}) | {column(lambda r: r['exit_s'], 2)} |"
        )
    return lines


def report(
    rounds: dict[str, list[dict[str, Any]]],
    receivers: dict[str, Receiver],
    args: argparse.Namespace,
    load_before: str,
) -> list[str]:
    """Return the markdown report: timing with budget verdicts, then delivery."""
    lines = [
        "",
        "## Export backends: the traced program's timing while the backend fails",
        "",
        f"- {machine()}; load average 1/5/15 min: {load_before} at start, {load_average()} at end",
        f"- {args.traces:,} traces of 3 spans per worker, in {CHUNKS} chunks; {args.rounds} rounds "
        "alternating the order of destinations; each destination in a fresh subprocess; retry "
        "settings at tracewire's defaults; receivers are http.server threads on 127.0.0.1",
        "- CPU = `time.thread_time_ns()` of the calling thread / traces; wall = `perf_counter_ns` "
        "over the loop / traces (export work on the background thread shows here only as "
        "competition for the GIL and the CPUs). Table values pool every chunk of every round; "
        "ratios are the median of per-round paired ratios (median chunk / memory://'s median "
        "chunk), their range in brackets",
        f"- budget (issue 6: a failing backend must not slow the traced program): with each "
        f"OTLP backend, caller CPU and loop wall per trace ≤ {BUDGET:.2f} x memory://'s",
        "",
        *_timing_table(rounds),
        "",
        *_delivery_table(rounds, args.flush_timeout),
        "",
        "- queued = neither exported nor dropped when `flush()` returned (still being retried); "
        "lost = neither after the exit flush (`TRACEWIRE_EXIT_FLUSH_TIMEOUT`, 5 s) gave up; "
        "'exit took' = from the worker's result line to the end of its process",
    ]
    for kind, receiver in receivers.items():
        lines.append(
            f"- receiver for {KINDS[kind]}: {receiver.requests:,} requests, "
            f"{receiver.spans:,} spans answered 200 (over all rounds)"
        )
    seen: dict[str, set[str]] = {}
    for kind, results in rounds.items():
        for result in results:
            if "error" in result:
                lines.append(f"- **{KINDS[kind]} crashed**:\n```\n{result['error']}\n```")
                continue
            for message in result["at_exit"]["warnings"]:
                seen.setdefault(kind, set()).add(message[:160])
    for kind, messages in seen.items():
        for message in sorted(messages):
            lines.append(f"- warning ({kind}): {message}")
    return lines


def main() -> int:
    """Parse the command line; run as the parent, or as one worker."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", choices=list(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--traces", type=int, default=TRACES)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--flush-timeout", type=float, default=FLUSH_TIMEOUT_S)
    parser.add_argument("--quick", action="store_true", help="a smoke test: 1 round, 10x fewer")
    args, _ = parser.parse_known_args()  # the other scripts' options pass through nox
    if args.worker:
        return worker(args.traces, args.flush_timeout)
    if args.quick:
        args.traces, args.rounds = args.traces // 10, 1
    load_before = load_average()
    receivers = {
        "otlp-ok": Receiver(200),
        "otlp-slow": Receiver(200, delay=SLOW_S),
        "otlp-500": Receiver(500),
    }
    endpoints = {"memory": "", "otlp-down": closed_port_url()}
    endpoints.update({kind: receiver.url for kind, receiver in receivers.items()})
    rounds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    try:
        for index in range(args.rounds):
            # Alternating order, so that load from elsewhere on the machine, and anything a
            # previous worker leaves behind, does not always fall on the same destination.
            order = list(KINDS) if index % 2 == 0 else list(reversed(KINDS))
            for kind in order:
                print(f"running {KINDS[kind]}: round {index + 1}", file=sys.stderr, flush=True)
                rounds[kind].append(run(kind, endpoints[kind], args.traces, args.flush_timeout))
    finally:
        for receiver in receivers.values():
            receiver.close()
    print("\n".join(report(rounds, receivers, args, load_before)))
    crashed = any("error" in result for results in rounds.values() for result in results)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

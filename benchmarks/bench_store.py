"""Benchmark tracewire's SQLite store against its memory store and MLflow's local store, in one run.

Workload: traces of 3 spans (a root and two children), fired in a tight loop. Per library, each
phase runs in a fresh subprocess (``--worker``), so no phase inherits another's heap or threads:

- ``timing``: 10 chunks of 1,000 traces. Per chunk: caller-thread CPU and wall time of the loop,
  then the flush; end-to-end throughput = spans / (loop + flush). tracewire's two stores run
  ``--rounds`` (5) times in alternating order, and the caller-cost ratio is paired per round.
- ``memory``: 4 segments of 2,500 traces under ``tracemalloc``, each flushed: the Python heap left
  after 2,500 / 5,000 / 7,500 / 10,000 traces, each segment's peak, and RSS.
- ``burst``: 2,000 traces as fast as a loop can, default settings, then flush: how many are stored.

MLflow's local SQLite store needs the full ``mlflow`` package (``mlflow-tracing`` alone cannot write
it). ``--mlflow-python`` names an interpreter that has it; otherwise mlflow-tracing runs with the
in-memory store of ``bench_core.py``. MLflow stores about 20 traces/s here, so it runs
``--mlflow-traces`` (1,000) traces, scaled down in the same proportions. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench_core import RESULT_MARKER, clean_env

TRACES = 10_000
CHUNKS = 10
SEGMENTS = 4
BURST = 2_000
CALLER_BUDGET = 1.10  # SQLite's caller-thread CPU per trace at most 10 % over memory://
THROUGHPUT_BUDGET = 5_000  # spans per second, end to end
KINDS = {
    "tw-sqlite": "tracewire sqlite",
    "tw-memory": "tracewire memory://",
    "mlflow-sqlite": "mlflow sqlite (full mlflow)",
    "mlflow-memory": "mlflow-tracing in-memory",
}


# --------------------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------------------


class Target:
    """One library configured for one store: fire traces, flush, count what is stored."""

    def __init__(self, kind: str, directory: str) -> None:
        self.kind = kind
        self.database = ""
        self.dropped: Callable[[], int] = lambda: -1
        if kind.startswith("tw-"):
            import tracewire
            from tracewire._export import EXPORTER

            self.start_span: Callable[[str], Any] = tracewire.start_span
            self.flush: Callable[[], Any] = tracewire.flush
            self.dropped = lambda: EXPORTER.dropped
            if kind == "tw-sqlite":
                self.database = os.path.join(directory, "tracewire.db")
                self._table = "traces"
            self._exported = lambda: EXPORTER.exported
        elif kind == "mlflow-sqlite":
            import mlflow

            self.start_span = mlflow.start_span
            self.flush = mlflow.flush_trace_async_logging
            self.database = os.path.join(directory, "mlflow.db")
            self._table = "trace_info"
        else:
            from bench_core import MlflowLibrary

            library = MlflowLibrary()
            self.start_span = library.start_span
            self.flush = library.flush
            self._exported = library.exported

    def stored(self) -> int:
        """Count the traces in the store (rows of the database file, for SQLite stores)."""
        if not self.database:
            return int(self._exported())
        if not os.path.exists(self.database):
            return 0
        with sqlite3.connect(self.database) as connection:
            return int(connection.execute(f"SELECT COUNT(*) FROM {self._table}").fetchone()[0])

    def fire(self, count: int) -> None:
        """Record ``count`` traces of 3 spans in a tight loop."""
        start_span = self.start_span
        for _ in range(count):
            with start_span("root"):
                with start_span("retrieve"):
                    pass
                with start_span("generate"):
                    pass


def _rss_mb() -> tuple[float, float]:
    """Current and peak resident set size in MB (Linux), else NaN."""
    values = {"VmRSS": float("nan"), "VmHWM": float("nan")}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key = line.split(":")[0]
                if key in values:
                    values[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def _timing(target: Target, traces: int) -> dict[str, Any]:
    chunk = traces // CHUNKS
    target.fire(50)
    target.flush()
    before = target.stored()
    cpu_us, loop_us, spans_per_s = [], [], []
    for _ in range(CHUNKS):
        gc.collect()
        wall_start, cpu_start = time.perf_counter(), time.thread_time()
        target.fire(chunk)
        cpu_end, loop_end = time.thread_time(), time.perf_counter()
        target.flush()
        wall_end = time.perf_counter()
        cpu_us.append((cpu_end - cpu_start) / chunk * 1e6)
        loop_us.append((loop_end - wall_start) / chunk * 1e6)
        spans_per_s.append(3 * chunk / (wall_end - wall_start))
    return {
        "cpu_us": cpu_us,
        "loop_us": loop_us,
        "spans_per_s": spans_per_s,
        "fired": chunk * CHUNKS,
        "stored": target.stored() - before,
        "dropped": target.dropped(),
    }


def _memory(target: Target, traces: int) -> dict[str, Any]:
    segment = traces // SEGMENTS
    target.fire(50)
    target.flush()
    gc.collect()
    tracemalloc.start()
    points = []
    for index in range(1, SEGMENTS + 1):
        tracemalloc.reset_peak()
        target.fire(segment)
        target.flush()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        rss, hwm = _rss_mb()
        points.append(
            {"traces": index * segment, "heap_mb": current / 2**20, "peak_mb": peak / 2**20,
             "rss_mb": rss, "hwm_mb": hwm}
        )  # fmt: skip
    tracemalloc.stop()
    return {"points": points}


def _burst(target: Target, count: int) -> dict[str, Any]:
    target.fire(1)
    target.flush()
    before = target.stored()
    start = time.perf_counter()
    target.fire(count)
    fired_s = time.perf_counter() - start
    target.flush()
    return {
        "fired": count,
        "stored": target.stored() - before,
        "loop_s": fired_s,
        "flushed_s": time.perf_counter() - start,
    }


def worker(kind: str, phase: str, directory: str, traces: int) -> int:
    """Run one phase for one library and print its JSON result line."""
    target = Target(kind, directory)
    if phase == "timing":
        result = _timing(target, traces)
    elif phase == "memory":
        result = _memory(target, traces)
    else:
        result = _burst(target, BURST)
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------------


def _env(kind: str, directory: str) -> dict[str, str]:
    env = clean_env()
    if kind == "tw-sqlite":
        env["TRACEWIRE_TRACKING_URI"] = f"sqlite:///{directory}/tracewire.db"
    elif kind == "mlflow-sqlite":
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{directory}/mlflow.db"
        env.pop("MLFLOW_TRACING_DESTINATION", None)
    return env


def run(kind: str, phase: str, traces: int, python: str) -> dict[str, Any]:
    """Run one worker in a fresh directory and interpreter; return its result (or an error)."""
    with tempfile.TemporaryDirectory(prefix=f"bench_store_{kind}_") as directory:
        command = [python, os.path.abspath(__file__), "--worker", kind, "--phase", phase,
                   "--dir", directory, "--traces", str(traces)]  # fmt: skip
        done = subprocess.run(
            command, cwd=directory, env=_env(kind, directory), capture_output=True, text=True,
            check=False, timeout=3_600,
        )  # fmt: skip
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return result
    return {"error": f"{kind} {phase} exited {done.returncode}:\n{done.stderr[-3000:]}"}


def _pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the timing results of several rounds (chunks pooled, counts summed)."""
    pooled: dict[str, Any] = {"cpu_us": [], "loop_us": [], "spans_per_s": [], "fired": 0,
                              "stored": 0, "dropped": 0}  # fmt: skip
    for result in rounds:
        if "error" in result:
            return result
        for key in ("cpu_us", "loop_us", "spans_per_s"):
            pooled[key] += result[key]
        for key in ("fired", "stored", "dropped"):
            pooled[key] += result[key]
    return pooled


def _paired_ratios(results: dict[str, dict[str, Any]], key: str) -> list[float]:
    """Per round: median sqlite / median memory:// of ``key``."""
    return [
        _median(sqlite[key]) / _median(memory[key])
        for sqlite, memory in zip(
            results["tw-sqlite"]["rounds"], results["tw-memory"]["rounds"], strict=True
        )
        if "error" not in sqlite and "error" not in memory
    ]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def report(
    results: dict[str, dict[str, Any]], mlflow_kind: str, traces: int, mlflow_traces: int
) -> None:
    """Print the markdown table, ratios and budget verdicts."""
    kinds = ["tw-sqlite", "tw-memory", mlflow_kind]
    timing = {k: results[k]["timing"] for k in kinds}
    cpu = {k: _median(timing[k].get("cpu_us", [])) for k in kinds}
    loop = {k: _median(timing[k].get("loop_us", [])) for k in kinds}
    spans = {k: _median(timing[k].get("spans_per_s", [])) for k in kinds}
    print(f"\n## Store benchmark ({platform.python_version()}, {os.cpu_count()} CPUs)\n")
    print(f"tracewire: {traces:,} traces of 3 spans; {KINDS[mlflow_kind]}: {mlflow_traces:,}.\n")
    print("| measure | " + " | ".join(KINDS[k] for k in kinds) + " |")
    print("|---|" + "---:|" * len(kinds))
    print("| caller CPU per trace (µs) | " + " | ".join(_fmt(cpu[k]) for k in kinds) + " |")
    print("| caller wall per trace, loop only (µs) | "
          + " | ".join(_fmt(loop[k]) for k in kinds) + " |")  # fmt: skip
    print("| throughput, loop + flush (spans/s) | "
          + " | ".join(_fmt(spans[k], 0) for k in kinds) + " |")  # fmt: skip
    print("| stored / fired (timing) | " + " | ".join(
        f"{timing[k].get('stored', '?')} / {timing[k].get('fired', '?')}" for k in kinds) + " |")  # fmt: skip
    for label, key in (("Python heap after", "heap_mb"), ("segment peak heap at", "peak_mb"),
                       ("RSS after", "rss_mb")):  # fmt: skip
        rows: dict[int, list[str]] = {}
        for column, kind in enumerate(kinds):
            for index, point in enumerate(results[kind]["memory"].get("points", []), 1):
                rows.setdefault(index, ["-"] * len(kinds))[column] = (
                    f"{_fmt(point[key])} ({point['traces']:,})"
                )
        for index in sorted(rows):
            print(f"| {label} segment {index} (MB, traces) | " + " | ".join(rows[index]) + " |")
    burst = {k: results[k]["burst"] for k in kinds}
    print(f"| burst of {BURST:,}: stored | "
          + " | ".join(f"{burst[k].get('stored', '?')}" for k in kinds) + " |")  # fmt: skip
    ratios = _paired_ratios(results, "cpu_us")
    ratio = _median(ratios)
    verdict = "PASS" if ratio <= CALLER_BUDGET else "MISS"
    spread = f"{min(ratios):.3f}-{max(ratios):.3f}" if ratios else "n/a"
    print(f"\n- caller CPU, sqlite / memory://, median of {len(ratios)} paired rounds = "
          f"{ratio:.3f} (rounds {spread}; budget ≤ {CALLER_BUDGET}): {verdict}")  # fmt: skip
    walls = _paired_ratios(results, "loop_us")
    print(f"- caller wall (loop only), sqlite / memory://, median of rounds = {_median(walls):.3f}"
          " (not budgeted: includes the export thread's turns on the GIL)")  # fmt: skip
    verdict = "PASS" if spans["tw-sqlite"] >= THROUGHPUT_BUDGET else "MISS"
    print(f"- throughput to SQLite: {spans['tw-sqlite']:,.0f} spans/s "
          f"(budget ≥ {THROUGHPUT_BUDGET:,}): {verdict}")  # fmt: skip
    heaps = [p["heap_mb"] for p in results["tw-sqlite"]["memory"].get("points", [])]
    if heaps:
        growth = heaps[-1] - heaps[0]
        verdict = "PASS" if growth < 1.0 else "MISS"
        print(f"- heap growth from {traces // SEGMENTS:,} to {traces:,} traces (SQLite): "
              f"{growth:+.2f} MB (flat = under 1 MB): {verdict}")  # fmt: skip
    stored = burst["tw-sqlite"].get("stored")
    print(f"- burst of {BURST:,} into SQLite: {stored} stored "
          f"({'PASS' if stored == BURST else 'MISS'})")  # fmt: skip
    mlflow_cpu, mlflow_spans = cpu[mlflow_kind], spans[mlflow_kind]
    print(f"- {KINDS[mlflow_kind]} / tracewire sqlite: caller CPU x{mlflow_cpu / cpu['tw-sqlite']:,.1f}, "
          f"throughput x{mlflow_spans / spans['tw-sqlite']:.4f}")  # fmt: skip
    for kind in kinds:
        for phase, result in results[kind].items():
            if "error" in result:
                print(f"\n{KINDS[kind]} {phase} CRASHED:\n{result['error']}")


def main() -> int:
    """Parse the command line; run as the parent, or as one worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=list(KINDS))
    parser.add_argument("--phase", choices=["timing", "memory", "burst"])
    parser.add_argument("--dir", default="")
    parser.add_argument("--traces", type=int, default=TRACES)
    parser.add_argument("--mlflow-python", default="", help="a Python with the full mlflow package")
    parser.add_argument("--mlflow-traces", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="a smoke test: 10x fewer traces")
    parser.add_argument("--rounds", type=int, default=5, help="alternating tracewire rounds")
    args, _ = parser.parse_known_args()  # bench_core's other options pass through nox
    if args.worker:
        return worker(args.worker, args.phase, args.dir, args.traces)
    scale = 10 if args.quick else 1
    if args.mlflow_python:
        mlflow_kind, mlflow_python = "mlflow-sqlite", args.mlflow_python
    else:
        mlflow_kind, mlflow_python = "mlflow-memory", sys.executable
        print("mlflow's local SQLite store needs the full mlflow package: comparing with "
              "mlflow-tracing's in-memory store (pass --mlflow-python to compare stores)")  # fmt: skip
    plan = [("tw-sqlite", sys.executable, TRACES // scale), ("tw-memory", sys.executable,
            TRACES // scale), (mlflow_kind, mlflow_python, args.mlflow_traces // scale)]  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else ()
    # tracewire's two stores are timed in alternating rounds, so that load from elsewhere on the
    # machine hits both alike; each round gives one paired ratio.
    for round_index in range(1 if args.quick else args.rounds):
        pair = plan[:2] if round_index % 2 == 0 else plan[1::-1]
        for kind, python, traces in pair:
            print(f"running {KINDS[kind]}: timing, round {round_index + 1}", file=sys.stderr)
            rounds = results.setdefault(kind, {}).setdefault("rounds", [])
            rounds.append(run(kind, "timing", traces, python))
    for kind in ("tw-sqlite", "tw-memory"):
        results[kind]["timing"] = _pool(results[kind]["rounds"])
    for phase in ("timing", "memory", "burst"):
        for kind, python, traces in plan:
            if phase == "timing" and kind.startswith("tw-"):
                continue
            print(f"running {KINDS[kind]}: {phase}", file=sys.stderr, flush=True)
            results.setdefault(kind, {})[phase] = run(kind, phase, traces, python)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else ()
    print(f"load average before / after: {load_before} / {load_after}")
    report(results, mlflow_kind, TRACES // scale, args.mlflow_traces // scale)
    crashed = any("error" in r for phases in results.values() for r in phases.values())
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
